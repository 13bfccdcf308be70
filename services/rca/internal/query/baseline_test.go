package query_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/archive"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/services/rca/internal/query"
)

// series writes one prediction.error point per value, one second apart from
// base, with two points in each second so that counts differ from seconds.
// A NaN leaves its second without data.
func series(t *testing.T, base time.Time, values []float64) *query.Reader {
	t.Helper()
	st := storetest.New(t)
	var rows [][]any
	for i, v := range values {
		if math.IsNaN(v) {
			continue
		}
		for j, at := range []time.Duration{100 * time.Millisecond, 600 * time.Millisecond} {
			p := events.Point{Name: "prediction.error", Value: v, Service: "model-server",
				TimeUnixNano: base.Add(time.Duration(i)*time.Second + at).UnixNano()}
			rows = append(rows, archive.PointRow("ev", i*2+j, p))
		}
	}
	if err := st.Insert(context.Background(), "metrics", archive.MetricColumns, rows); err != nil {
		t.Fatal(err)
	}
	return query.New(st.Conn())
}

func TestSymptomCoverage(t *testing.T) {
	base := time.Now().Truncate(time.Second).Add(-time.Minute)
	nan := math.NaN()
	r := series(t, base, []float64{0.1, 0.3, nan, nan, 0.1, 0.3})
	tests := []struct {
		name            string
		from, to        int
		seconds, points uint64
		mean, stddev    float64
	}{
		{name: "gaps are not covered", from: 0, to: 6, seconds: 4, points: 8, mean: 0.2, stddev: 0.1},
		{name: "part of the range", from: 1, to: 5, seconds: 2, points: 4, mean: 0.2, stddev: 0.1},
		{name: "no data", from: 2, to: 4},
		{name: "before the data", from: -30, to: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rg := query.Range{From: base.Add(time.Duration(tt.from) * time.Second).UnixNano(), To: base.Add(time.Duration(tt.to) * time.Second).UnixNano()}
			got, err := r.SymptomCoverage(context.Background(), query.MetricSymptom(plain("prediction.error"), "model-server"), rg)
			if err != nil {
				t.Fatal(err)
			}
			if got.Seconds != tt.seconds || got.Points != tt.points || math.Abs(got.Mean-tt.mean) > 1e-9 || math.Abs(got.StdDev-tt.stddev) > 1e-9 {
				t.Fatalf("coverage = %+v, want %d s, %d points, mean %v, stddev %v", got, tt.seconds, tt.points, tt.mean, tt.stddev)
			}
		})
	}
}

func TestSymptomOnset(t *testing.T) {
	base := time.Now().Truncate(time.Second).Add(-time.Minute)
	calm := query.Coverage{Seconds: 30, Points: 60, Mean: 0.01, StdDev: 0.01} // anomalous beyond 0.04 from 0.01
	tests := []struct {
		name   string
		values []float64
		want   int // second of the onset; -1 for none
	}{
		{name: "step", values: []float64{0, 0.02, 0, 0.3, 0.3, 0.3, 0.3, 0.3}, want: 3},
		{name: "lone blip before the step", values: []float64{0.3, 0, 0, 0, 0, 0.3, 0.3, 0.3, 0.3, 0.3}, want: 5},
		{name: "intermittent fault, 3 of 5", values: []float64{0, 0.3, 0, 0.3, 0, 0.3, 0, 0}, want: 1},
		{name: "drop counts too", values: []float64{0.01, -0.5, -0.5, -0.5, -0.5}, want: 1},
		{name: "calm", values: []float64{0, 0.02, 0.01, 0.03, 0}, want: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := series(t, base, tt.values)
			rg := query.Range{From: base.UnixNano(), To: base.Add(time.Minute).UnixNano()}
			got, ok, err := r.SymptomOnset(context.Background(), query.MetricSymptom(plain("prediction.error"), "model-server"), rg, calm)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want < 0 {
				if ok {
					t.Fatalf("onset at %d, want none", got-base.Unix())
				}
				return
			}
			if !ok || got != base.Unix()+int64(tt.want) {
				t.Fatalf("onset = %d (found %v), want second %d", got-base.Unix(), ok, tt.want)
			}
		})
	}
}
