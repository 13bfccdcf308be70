package otlp

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

func TestCumulativeRates(t *testing.T) {
	s := newSeries(10, 10, time.Hour)
	now := time.Unix(1000, 0)
	const sec = int64(time.Second)
	steps := []struct {
		name     string
		start, t int64
		v        float64
		rate     float64
		ok       bool
	}{
		{name: "first point has no rate", start: 1, t: 10 * sec, v: 100},
		{name: "increase", start: 1, t: 20 * sec, v: 150, rate: 5, ok: true},
		{name: "retry of the latest gives the same rate", start: 1, t: 20 * sec, v: 150, rate: 5, ok: true},
		{name: "older point gives none", start: 1, t: 15 * sec, v: 120},
		{name: "increase again", start: 1, t: 30 * sec, v: 170, rate: 2, ok: true},
		{name: "drop is a reset", start: 1, t: 40 * sec, v: 10},
		{name: "after a reset", start: 1, t: 50 * sec, v: 30, rate: 2, ok: true},
		{name: "new start time is a reset", start: 45 * sec, t: 60 * sec, v: 40},
		{name: "after the restart", start: 45 * sec, t: 70 * sec, v: 140, rate: 10, ok: true},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			res, err := s.cumulative(1, "svc", now, st.start, st.t, st.v)
			if err != nil {
				t.Fatal(err)
			}
			if res.ok != st.ok || res.rate != st.rate {
				t.Fatalf("rate %g ok %v, want %g %v", res.rate, res.ok, st.rate, st.ok)
			}
		})
	}
}

func TestSeriesBounds(t *testing.T) {
	s := newSeries(2, 3, time.Minute)
	now := time.Unix(1000, 0)
	if _, err := s.cumulative(1, "a", now, 0, 1, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.admit(2, "a", now); err != nil {
		t.Fatal(err)
	}
	if err := s.admit(3, "a", now); err == nil || !strings.Contains(err.Error(), "MaxSeriesPerService") {
		t.Fatalf("third series of a: %v, want the per-service limit of 2", err)
	}
	if err := s.admit(3, "b", now); err != nil {
		t.Fatalf("another service: %v", err)
	}
	if err := s.admit(4, "c", now); err == nil || !strings.Contains(err.Error(), "MaxTrackedSeries") {
		t.Fatalf("fourth series in all: %v, want the total limit of 3", err)
	}
	if err := s.admit(1, "a", now); err != nil {
		t.Fatalf("a known series: %v", err)
	}
	// Idle series are forgotten, which frees the limits.
	if err := s.admit(4, "c", now.Add(2*time.Minute)); err != nil {
		t.Fatalf("after idle: %v", err)
	}
}

func TestSeverity(t *testing.T) {
	tests := []struct {
		name   string
		number plog.SeverityNumber
		text   string
		want   string
	}{
		{name: "trace", number: plog.SeverityNumberTrace2, want: "DEBUG"},
		{name: "info number wins over text", number: plog.SeverityNumberInfo, text: "whatever", want: "INFO"},
		{name: "warn", number: plog.SeverityNumberWarn3, want: "WARN"},
		{name: "fatal counts as error", number: plog.SeverityNumberFatal, want: "ERROR"},
		{name: "text warning", text: "Warning", want: "WARN"},
		{name: "text critical", text: "critical", want: "ERROR"},
		{name: "text kept", text: "notice", want: "NOTICE"},
		{name: "nothing", want: "UNSPECIFIED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := severity(tt.number, tt.text); got != tt.want {
				t.Fatalf("severity(%d, %q) = %q, want %q", tt.number, tt.text, got, tt.want)
			}
		})
	}
}

func TestChunk(t *testing.T) {
	items := []int{1, 1, 50, 1, 1, 1, 1}
	runs, big := chunk(items, func(n int) int { return n * 10 }, 3, 100)
	if big != 1 {
		t.Fatalf("tooBig %d, want 1", big)
	}
	var sizes []int
	for _, r := range runs {
		sizes = append(sizes, len(r))
	}
	if len(sizes) != 2 || sizes[0] != 3 || sizes[1] != 3 {
		t.Fatalf("runs %v, want [3 3]", runs)
	}
}

func TestHistogramShapes(t *testing.T) {
	tests := []struct {
		name     string
		bounds   []float64
		counts   []uint64
		buckets  map[string]float64
		rejected string
	}{
		{name: "buckets", bounds: []float64{1, 2}, counts: []uint64{1, 2, 3}, buckets: map[string]float64{"1": 1, "2": 3, "+Inf": 6}},
		{name: "no buckets: count and sum only", buckets: map[string]float64{}},
		{name: "counts do not match bounds", bounds: []float64{1, 2}, counts: []uint64{1}, rejected: ReasonInvalidPoint},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(Config{}, nil, prometheus.NewRegistry(), nil)
			if err != nil {
				t.Fatal(err)
			}
			md := pmetric.NewMetrics()
			mt := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
			mt.SetName("h")
			dp := mt.SetEmptyHistogram().DataPoints().AppendEmpty()
			dp.ExplicitBounds().FromRaw(tt.bounds)
			dp.BucketCounts().FromRaw(tt.counts)
			dp.SetCount(6)
			dp.SetSum(9)
			var rj rejects
			pts := r.mapMetrics(md, &rj)
			if tt.rejected != "" {
				if rj.count[tt.rejected] != 1 || len(pts) != 0 {
					t.Fatalf("rejects %v, points %+v", rj.count, pts)
				}
				return
			}
			got := map[string]float64{}
			for _, p := range named(pts, "h_bucket") {
				got[p.Attributes["le"]] = p.Value
			}
			if !maps.Equal(got, tt.buckets) || len(named(pts, "h_count")) != 1 || len(named(pts, "h_sum")) != 1 {
				t.Fatalf("points %+v, want buckets %v with count and sum", pts, tt.buckets)
			}
		})
	}
}
