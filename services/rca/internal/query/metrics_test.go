package query_test

import (
	"context"
	"math"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/archive"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/metricexpr"
	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/services/rca/internal/query"
)

// pointBatches are two telemetry batches over one second: the symptom of
// two model versions and a missing-data ratio, split so that a redelivery
// of the first alone changes the ratio's share if copies are counted.
func pointBatches(t *testing.T, base time.Time) (first, second events.Item[events.TelemetryPoints]) {
	t.Helper()
	at := func(ms int) int64 { return base.Add(time.Duration(ms) * time.Millisecond).UnixNano() }
	symptom := func(ms int, version string, v float64) events.Point {
		return events.Point{Name: "prediction.error", Value: v, TimeUnixNano: at(ms), Service: "model-server", Model: "fraud", ModelVersion: version}
	}
	ratio := func(ms int, v float64) events.Point {
		return events.Point{Name: "features.missing_ratio", Value: v, TimeUnixNano: at(ms), Service: "feature-service", Model: "fraud"}
	}
	return telemetry(t, "batch-1", symptom(100, "v1", 1), symptom(200, "v2", 1), ratio(300, 0.5)),
		telemetry(t, "batch-2", symptom(400, "v2", 0), ratio(500, 0), ratio(600, 0))
}

func telemetry(t *testing.T, id string, points ...events.Point) events.Item[events.TelemetryPoints] {
	t.Helper()
	d := events.TelemetryPoints{Source: "simulator", Points: points}
	ev, err := events.NewWithID(id, "simulator", d)
	if err != nil {
		t.Fatal(err)
	}
	return events.Item[events.TelemetryPoints]{Meta: events.MetaOf(ev), Data: d}
}

// A redelivered telemetry batch is written to metrics again; the queries
// must count its points once, before and whether or not ClickHouse merges.
func TestMetricsCountRedeliveredPointsOnce(t *testing.T) {
	base := time.Now().Truncate(time.Second)
	first, second := pointBatches(t, base)
	tests := []struct {
		name   string
		writes [][]events.Item[events.TelemetryPoints]
	}{
		{name: "each batch written once", writes: [][]events.Item[events.TelemetryPoints]{{first, second}}},
		{name: "first batch redelivered", writes: [][]events.Item[events.TelemetryPoints]{{first, second}, {first}}},
		{name: "both batches redelivered twice", writes: [][]events.Item[events.TelemetryPoints]{{first, second}, {first, second}, {second, first}}},
	}
	wantSymptom := []query.VersionBucket{
		{Bucket: base.Unix(), Model: "fraud", ModelVersion: "v1", Sum: 1, Total: 1, Count: 1},
		{Bucket: base.Unix(), Model: "fraud", ModelVersion: "v2", Sum: 1, Total: 2, Count: 2},
	}
	wantMissing := query.MissingBucket{Service: "feature-service", Name: "features.missing_ratio", Bucket: base.Unix(), Share: 1.0 / 3}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := writeUnmerged(t, tt.writes)
			rg := query.Range{From: base.UnixNano(), To: base.Add(2 * time.Second).UnixNano()}
			symptom, err := r.SymptomByVersion(context.Background(), query.MetricSymptom(plain("prediction.error"), "model-server"), rg)
			if err != nil {
				t.Fatal(err)
			}
			sort.Slice(symptom, func(i, j int) bool { return symptom[i].ModelVersion < symptom[j].ModelVersion })
			if !slices.Equal(symptom, wantSymptom) {
				t.Errorf("symptom = %+v, want %+v", symptom, wantSymptom)
			}
			missing, err := r.MissingData(context.Background(), "fraud", rg)
			if err != nil {
				t.Fatal(err)
			}
			if len(missing) != 1 || !sameShare(missing[0], wantMissing) {
				t.Errorf("missing data = %+v, want [%+v]", missing, wantMissing)
			}
		})
	}
}

// writeUnmerged writes each group of batches as its own insert, the way the
// detector does on every delivery, into a fresh database whose metrics
// table does not merge, so copies stay as they are until someone merges.
func writeUnmerged(t *testing.T, writes [][]events.Item[events.TelemetryPoints]) *query.Reader {
	t.Helper()
	st := storetest.New(t)
	ctx := context.Background()
	if err := st.Conn().Exec(ctx, "SYSTEM STOP MERGES "+st.Database()+".metrics"); err != nil {
		t.Fatal(err)
	}
	for _, evs := range writes {
		if err := archive.WritePoints(ctx, st, evs); err != nil {
			t.Fatal(err)
		}
	}
	return query.New(st.Conn())
}

// sameShare compares buckets with room for the float rounding of avg.
func sameShare(a, b query.MissingBucket) bool {
	share := math.Abs(a.Share-b.Share) < 1e-9
	a.Share, b.Share = 0, 0
	return share && a == b
}

// plain is a plain metric name as an expression.
func plain(name string) metricexpr.Expr { return metricexpr.Expr{Numerator: name} }
