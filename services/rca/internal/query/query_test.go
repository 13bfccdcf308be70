package query_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/archive"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/services/rca/internal/query"
	"github.com/medic-sre/medic/services/rca/internal/synthtest"
	"gopkg.in/yaml.v3"
)

type spanRow struct {
	Trace      string `yaml:"trace"`
	Span       string `yaml:"span"`
	Parent     string `yaml:"parent"`
	Service    string `yaml:"service"`
	OffsetMs   int64  `yaml:"offset_ms"`
	DurationMs int64  `yaml:"duration_ms"`
	Status     uint8  `yaml:"status"`
}

func spanRows(t *testing.T, base time.Time) [][]any {
	t.Helper()
	raw, err := os.ReadFile("testdata/traces.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var spans []spanRow
	if err := yaml.Unmarshal(raw, &spans); err != nil {
		t.Fatalf("testdata/traces.yaml: %v", err)
	}
	var rows [][]any
	for _, s := range spans {
		start := base.Add(time.Duration(s.OffsetMs) * time.Millisecond)
		d := time.Duration(s.DurationMs) * time.Millisecond
		rows = append(rows, []any{start, start.UnixNano(), start.Add(d).UnixNano(), int64(d), s.Trace, s.Span, s.Parent,
			s.Service, "op", "server", s.Status, "", "fraud", "v1", []string{}, []string{}})
	}
	return rows
}

// Spans are counted once even when a batch writer retried an insert that
// had stored them, whole or in part.
func TestSelfBehaviour(t *testing.T) {
	base := time.Now().Truncate(time.Second)
	rows := spanRows(t, base)
	writes := []struct {
		name    string
		inserts [][][]any
	}{
		{name: "each span written once", inserts: [][][]any{rows}},
		{name: "batch written again", inserts: [][][]any{rows, rows}},
		{name: "failing trace written again", inserts: [][][]any{rows, rows[:3]}},
	}
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			checkSelfBehaviour(t, selfBehaviour(t, base, w.inserts), base.Unix())
		})
	}
}

// selfBehaviour inserts each group of span rows as its own insert into a
// fresh database and returns SelfBehaviour by service.
func selfBehaviour(t *testing.T, base time.Time, inserts [][][]any) map[string]query.ServiceBucket {
	t.Helper()
	st := storetest.New(t)
	ctx := context.Background()
	for _, rows := range inserts {
		if err := st.Insert(ctx, "spans", synthtest.SpanColumns, rows); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := query.New(st.Conn()).SelfBehaviour(ctx, "fraud", query.Range{From: base.UnixNano(), To: base.Add(time.Second).UnixNano()})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]query.ServiceBucket{}
	for _, r := range rows {
		got[r.Service] = r
	}
	return got
}

func checkSelfBehaviour(t *testing.T, got map[string]query.ServiceBucket, bucket int64) {
	tests := []struct {
		name, service     string
		spans, selfErrors uint64
		selfLatencyMs     float64
	}{
		{name: "gateway fails on its own once", service: "gateway", spans: 3, selfErrors: 1, selfLatencyMs: (2 + 6 + 2) / 3.0},
		{name: "feature-service only propagates", service: "feature-service", spans: 3, selfErrors: 0, selfLatencyMs: (2 + 4 + 2) / 3.0},
		{name: "model-server fails on its own", service: "model-server", spans: 2, selfErrors: 1, selfLatencyMs: 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := got[tt.service]
			if r.Spans != tt.spans || r.SelfErrors != tt.selfErrors || r.Bucket != bucket {
				t.Fatalf("%s = %+v, want %d spans, %d self errors in bucket %d", tt.service, r, tt.spans, tt.selfErrors, bucket)
			}
			if d := r.SelfLatencyMs - tt.selfLatencyMs; d > 1e-6 || d < -1e-6 {
				t.Fatalf("self latency = %v ms, want %v", r.SelfLatencyMs, tt.selfLatencyMs)
			}
		})
	}
}

// A change archived twice is read once, and only changes in range are read.
func TestChanges(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	now := time.Now()
	in := events.ChangeRecorded{ChangeID: "c1", Kind: "deploy", Service: "model-server", Model: "fraud",
		ModelVersion: "v2", TimeUnixNano: now.UnixNano()}
	old := events.ChangeRecorded{ChangeID: "c0", Kind: "config", Service: "gateway", TimeUnixNano: now.Add(-time.Hour).UnixNano()}
	var rows [][]any
	for _, c := range []events.ChangeRecorded{in, in, old} {
		ev, err := events.NewWithID(events.DerivedID(c.ChangeID), "simulator", c)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, archive.EventRow(events.Raw{Meta: events.MetaOf(ev), Data: ev.Data()}))
	}
	if err := st.Insert(ctx, "events", archive.EventColumns, rows); err != nil {
		t.Fatal(err)
	}
	got, err := query.New(st.Conn()).Changes(ctx, query.Range{From: now.Add(-10 * time.Minute).UnixNano(), To: now.Add(time.Minute).UnixNano()})
	if err != nil {
		t.Fatal(err)
	}
	want := query.Change{ChangeID: "c1", Kind: "deploy", Service: "model-server", Model: "fraud", ModelVersion: "v2", TimeUnixNano: in.TimeUnixNano}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("changes = %+v, want [%+v]", got, want)
	}
}
