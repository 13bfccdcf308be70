package query_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/metricexpr"
	"github.com/medic-sre/medic/services/rca/internal/query"
)

// A histogram symptom reads as <name>_sum over <name>_count, each stored per
// export interval by the ingest service: every export of every series
// counts, a redelivered export counts once, and the buckets are not read.
func TestSymptomByVersionHistogram(t *testing.T) {
	w := &rateRows{t: t, base: time.Now().Truncate(time.Second).Add(-time.Minute)}
	n := 0
	export := func(ms int, keys, values []string, sum, count float64) {
		id := fmt.Sprintf("h%d", n)
		n++
		for i, p := range []struct {
			name string
			v    float64
		}{{"prediction.latency_ms_sum", sum}, {"prediction.latency_ms_count", count}, {"prediction.latency_ms_bucket", count}} {
			w.rows = append(w.rows, []any{time.Unix(0, w.at(ms)), w.at(ms), p.name, p.v, "model-server", "fraud", "v1",
				keys, values, id, uint32(i)})
		}
	}
	ab, ba := []string{"host", "region"}, []string{"region", "host"}
	export(100, ab, []string{"a", "x"}, 100, 10)
	export(600, ba, []string{"x", "a"}, 150, 12)
	export(1100, ab, []string{"a", "x"}, 250, 16)
	export(1600, ba, []string{"x", "a"}, 260, 17)
	w.rows = append(w.rows, w.rows[len(w.rows)-3:]...) // the last export redelivered
	export(100, []string{"host"}, []string{"b"}, 1000, 50)
	export(600, []string{"host"}, []string{"b"}, 20, 2)
	export(1100, []string{"host"}, []string{"b"}, 60, 6)
	r := w.reader()
	rg := query.Range{From: w.base.UnixNano(), To: w.base.Add(2 * time.Second).UnixNano()}
	got, err := r.SymptomByVersion(context.Background(), query.MetricSymptom(metricexpr.Expr{Numerator: "prediction.latency_ms"}, "model-server"), rg)
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(got, func(i, j int) bool { return got[i].Bucket < got[j].Bucket })
	b := w.base.Unix()
	want := []query.VersionBucket{
		// 100+150+1000+20 over 10+12+50+2, from 4 count points.
		{Bucket: b, Model: "fraud", ModelVersion: "v1", Sum: 1270, Total: 74, Count: 4},
		// 250+260+60 over 16+17+6; the redelivered export once.
		{Bucket: b + 1, Model: "fraud", ModelVersion: "v1", Sum: 570, Total: 39, Count: 3},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("symptom = %+v\nwant %+v", got, want)
	}
}
