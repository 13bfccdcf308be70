package query_test

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/services/rca/internal/query"
	"github.com/medic-sre/medic/services/rca/internal/synthtest"
)

// span is one row of the spans table for the span symptom tests.
type span struct {
	id, parent, service, name, kind, version string
	offset, duration                         time.Duration
	failed                                   bool
}

func (s span) row(base time.Time) []any {
	start := base.Add(s.offset)
	status := uint8(1)
	if s.failed {
		status = 2
	}
	return []any{start, start.UnixNano(), start.Add(s.duration).UnixNano(), int64(s.duration), "t-" + s.id, s.id, s.parent,
		s.service, s.name, s.kind, status, "", "fraud", s.version, []string{}, []string{}}
}

// Two seconds of gateway traffic: in the first, two requests (v1) of 10 and
// 30 ms, one failed; in the second, one request (v2) of 100 ms on another
// operation. The gateway's client span and the callee's server span are
// no entry spans of the gateway and must not count.
func spanSymptomWorld(t *testing.T, base time.Time) *query.Reader {
	t.Helper()
	ms := time.Millisecond
	spans := []span{
		{id: "a", service: "gateway", name: "POST /predict", kind: "server", version: "v1", offset: 100 * ms, duration: 10 * ms},
		{id: "b", service: "gateway", name: "POST /predict", kind: "server", version: "v1", offset: 200 * ms, duration: 30 * ms, failed: true},
		{id: "b-call", parent: "b", service: "gateway", name: "call model", kind: "client", version: "v1", offset: 205 * ms, duration: 25 * ms, failed: true},
		{id: "b-srv", parent: "b-call", service: "model-server", name: "predict", kind: "server", version: "v1", offset: 206 * ms, duration: 20 * ms, failed: true},
		{id: "c", service: "gateway", name: "GET /health", kind: "server", version: "v2", offset: 1100 * ms, duration: 100 * ms},
	}
	var rows [][]any
	for _, s := range spans {
		rows = append(rows, s.row(base))
	}
	st := storetest.New(t)
	// Written twice, as by a writer that retried a stored batch.
	for range 2 {
		if err := st.Insert(context.Background(), "spans", synthtest.SpanColumns, rows); err != nil {
			t.Fatal(err)
		}
	}
	return query.New(st.Conn())
}

func TestSpanSymptom(t *testing.T) {
	base := time.Now().Truncate(time.Second).Add(-time.Hour)
	r := spanSymptomWorld(t, base)
	b0 := base.Unix()
	rg := query.Range{From: base.UnixNano(), To: base.Add(2 * time.Second).UnixNano()}
	tests := []struct {
		name string
		sym  query.Symptom
		want []query.VersionBucket
	}{
		{name: "latency in ms", sym: query.Symptom{Service: "gateway", Span: query.SpanLatency},
			want: []query.VersionBucket{{Bucket: b0, Model: "fraud", ModelVersion: "v1", Sum: 40, Total: 2, Count: 2},
				{Bucket: b0 + 1, Model: "fraud", ModelVersion: "v2", Sum: 100, Total: 1, Count: 1}}},
		{name: "errors", sym: query.Symptom{Service: "gateway", Span: query.SpanErrors},
			want: []query.VersionBucket{{Bucket: b0, Model: "fraud", ModelVersion: "v1", Sum: 1, Total: 2, Count: 2},
				{Bucket: b0 + 1, Model: "fraud", ModelVersion: "v2", Sum: 0, Total: 1, Count: 1}}},
		{name: "throughput per bucket, not per version", sym: query.Symptom{Service: "gateway", Span: query.SpanThroughput},
			want: []query.VersionBucket{{Bucket: b0, Sum: 2, Total: 1, Count: 2}, {Bucket: b0 + 1, Sum: 1, Total: 1, Count: 1}}},
		{name: "one operation", sym: query.Symptom{Service: "gateway", Span: query.SpanLatency, Operation: "GET /health"},
			want: []query.VersionBucket{{Bucket: b0 + 1, Model: "fraud", ModelVersion: "v2", Sum: 100, Total: 1, Count: 1}}},
		{name: "callee", sym: query.Symptom{Service: "model-server", Span: query.SpanErrors},
			want: []query.VersionBucket{{Bucket: b0, Model: "fraud", ModelVersion: "v1", Sum: 1, Total: 1, Count: 1}}},
		{name: "another model", sym: query.Symptom{Service: "gateway", Span: query.SpanLatency, Model: "churn"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.SymptomByVersion(context.Background(), tt.sym, rg)
			if err != nil {
				t.Fatal(err)
			}
			slices.SortFunc(got, func(a, b query.VersionBucket) int { return int(a.Bucket - b.Bucket) })
			if !slices.EqualFunc(got, tt.want, func(a, b query.VersionBucket) bool {
				return a.Bucket == b.Bucket && a.Model == b.Model && a.ModelVersion == b.ModelVersion &&
					near(a.Sum, b.Sum) && a.Total == b.Total && a.Count == b.Count
			}) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// Coverage and onset read span signals as they read metrics.
func TestSpanSymptomCoverage(t *testing.T) {
	base := time.Now().Truncate(time.Second).Add(-time.Hour)
	r := spanSymptomWorld(t, base)
	rg := query.Range{From: base.UnixNano(), To: base.Add(2 * time.Second).UnixNano()}
	got, err := r.SymptomCoverage(context.Background(), query.Symptom{Service: "gateway", Span: query.SpanLatency}, rg)
	if err != nil {
		t.Fatal(err)
	}
	// Per-second means 20 and 100 ms.
	if got.Seconds != 2 || got.Points != 3 || !near(got.Mean, 60) || !near(got.StdDev, 40) {
		t.Fatalf("coverage = %+v, want 2 s, 3 points, mean 60, stddev 40", got)
	}
}

func TestServices(t *testing.T) {
	base := time.Now().Truncate(time.Second).Add(-time.Hour)
	r := spanSymptomWorld(t, base)
	got, err := r.Services(context.Background(), query.Range{From: base.UnixNano(), To: base.Add(2 * time.Second).UnixNano()})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"gateway", "model-server"}; !slices.Equal(got, want) {
		t.Fatalf("services = %v, want %v", got, want)
	}
	none, err := r.Services(context.Background(), query.Range{From: base.Add(-time.Hour).UnixNano(), To: base.UnixNano()})
	if err != nil || len(none) != 0 {
		t.Fatalf("services an hour before = %v, %v; want none", none, err)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
