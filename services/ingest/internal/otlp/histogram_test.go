package otlp

import (
	"maps"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// histStep is one export of a histogram series and the values it should
// be stored as: le bounds, count, sum, min and max; nil means no points.
type histStep struct {
	start, t time.Duration // since epoch, for readability
	bounds   []float64     // nil: {1, 2}
	counts   []uint64      // per bucket, as OTLP sends them
	sum      float64
	want     map[string]float64
}

// sent is the step's count: the sum of its bucket counts.
func (s histStep) sent() uint64 {
	var n uint64
	for _, c := range s.counts {
		n += c
	}
	return n
}

func TestHistogramTemporality(t *testing.T) {
	const s = time.Second
	tests := []struct {
		name     string
		temporal pmetric.AggregationTemporality
		firstMax time.Duration
		steps    []histStep
	}{
		{name: "delta: as sent, with min and max", temporal: pmetric.AggregationTemporalityDelta, steps: []histStep{
			{start: 1000 * s, t: 1030 * s, counts: []uint64{1, 2, 3}, sum: 9,
				want: map[string]float64{"1": 1, "2": 3, "+Inf": 6, "count": 6, "sum": 9, "min": 0.5, "max": 7}},
			{start: 1030 * s, t: 1060 * s, counts: []uint64{0, 1, 0}, sum: 1.5,
				want: map[string]float64{"1": 0, "2": 1, "+Inf": 1, "count": 1, "sum": 1.5, "min": 0.5, "max": 7}},
		}},
		{name: "cumulative: each export's increase, no min and max", temporal: pmetric.AggregationTemporalityCumulative, steps: []histStep{
			{start: 1000 * s, t: 1030 * s, counts: []uint64{1, 2, 3}, sum: 9,
				want: map[string]float64{"1": 1, "2": 3, "+Inf": 6, "count": 6, "sum": 9}},
			{start: 1000 * s, t: 1090 * s, counts: []uint64{1, 5, 4}, sum: 20,
				want: map[string]float64{"1": 0, "2": 3, "+Inf": 4, "count": 4, "sum": 11}},
			{start: 1000 * s, t: 1150 * s, counts: []uint64{1, 5, 4}, sum: 20,
				want: map[string]float64{"1": 0, "2": 0, "+Inf": 0, "count": 0, "sum": 0}},
		}},
		{name: "cumulative: a retry yields the same increase again", temporal: pmetric.AggregationTemporalityCumulative, steps: []histStep{
			{start: 1000 * s, t: 1030 * s, counts: []uint64{1, 2, 3}, sum: 9,
				want: map[string]float64{"1": 1, "2": 3, "+Inf": 6, "count": 6, "sum": 9}},
			{start: 1000 * s, t: 1030 * s, counts: []uint64{1, 2, 3}, sum: 9,
				want: map[string]float64{"1": 1, "2": 3, "+Inf": 6, "count": 6, "sum": 9}},
			{start: 1000 * s, t: 1090 * s, counts: []uint64{2, 2, 3}, sum: 9.5,
				want: map[string]float64{"1": 1, "2": 1, "+Inf": 1, "count": 1, "sum": 0.5}},
			{start: 1000 * s, t: 1090 * s, counts: []uint64{2, 2, 3}, sum: 9.5,
				want: map[string]float64{"1": 1, "2": 1, "+Inf": 1, "count": 1, "sum": 0.5}},
			{start: 1000 * s, t: 1060 * s, counts: []uint64{2, 2, 2}, sum: 9}, // older than the latest: nothing
			{start: 1000 * s, t: 1150 * s, counts: []uint64{2, 3, 3}, sum: 11,
				want: map[string]float64{"1": 0, "2": 1, "+Inf": 1, "count": 1, "sum": 1.5}},
		}},
		{name: "cumulative: a count going down starts over", temporal: pmetric.AggregationTemporalityCumulative, steps: []histStep{
			{start: 1000 * s, t: 1030 * s, counts: []uint64{5, 5, 5}, sum: 30,
				want: map[string]float64{"1": 5, "2": 10, "+Inf": 15, "count": 15, "sum": 30}},
			// Same start time, so the interval is long: the base only.
			{start: 1000 * s, t: 1090 * s, counts: []uint64{1, 0, 0}, sum: 0.5},
			{start: 1000 * s, t: 1150 * s, counts: []uint64{3, 0, 1}, sum: 10,
				want: map[string]float64{"1": 2, "2": 2, "+Inf": 3, "count": 3, "sum": 9.5}},
		}},
		{name: "cumulative: a new start time starts over", temporal: pmetric.AggregationTemporalityCumulative, steps: []histStep{
			{start: 1000 * s, t: 1030 * s, counts: []uint64{5, 5, 5}, sum: 30,
				want: map[string]float64{"1": 5, "2": 10, "+Inf": 15, "count": 15, "sum": 30}},
			// The process restarted 20s ago: its counts are that interval's.
			{start: 1070 * s, t: 1090 * s, counts: []uint64{6, 6, 6}, sum: 36,
				want: map[string]float64{"1": 6, "2": 12, "+Inf": 18, "count": 18, "sum": 36}},
			{start: 1070 * s, t: 1150 * s, counts: []uint64{7, 6, 6}, sum: 36.5,
				want: map[string]float64{"1": 1, "2": 1, "+Inf": 1, "count": 1, "sum": 0.5}},
		}},
		{name: "cumulative: new bucket bounds start over", temporal: pmetric.AggregationTemporalityCumulative, steps: []histStep{
			{start: 1000 * s, t: 1030 * s, counts: []uint64{1, 1, 1}, sum: 3,
				want: map[string]float64{"1": 1, "2": 2, "+Inf": 3, "count": 3, "sum": 3}},
			{start: 1000 * s, t: 1090 * s, bounds: []float64{5}, counts: []uint64{4, 1}, sum: 10},
			{start: 1000 * s, t: 1150 * s, bounds: []float64{5}, counts: []uint64{5, 1}, sum: 12,
				want: map[string]float64{"5": 1, "+Inf": 1, "count": 1, "sum": 2}},
		}},
		{name: "cumulative: a first point over FirstIntervalMax only seeds", temporal: pmetric.AggregationTemporalityCumulative, steps: []histStep{
			{start: 1000 * s, t: 1061 * s, counts: []uint64{1, 2, 3}, sum: 9},
			{start: 1000 * s, t: 1061 * s, counts: []uint64{1, 2, 3}, sum: 9}, // its retry: nothing either
			{start: 1000 * s, t: 1121 * s, counts: []uint64{1, 2, 4}, sum: 12,
				want: map[string]float64{"1": 0, "2": 0, "+Inf": 1, "count": 1, "sum": 3}},
		}},
		{name: "cumulative: a first point at FirstIntervalMax is whole", temporal: pmetric.AggregationTemporalityCumulative, steps: []histStep{
			{start: 1000 * s, t: 1060 * s, counts: []uint64{1, 2, 3}, sum: 9,
				want: map[string]float64{"1": 1, "2": 3, "+Inf": 6, "count": 6, "sum": 9}},
		}},
		{name: "cumulative: FirstIntervalMax is configurable", temporal: pmetric.AggregationTemporalityCumulative, firstMax: 10 * s, steps: []histStep{
			{start: 1000 * s, t: 1030 * s, counts: []uint64{1, 2, 3}, sum: 9},
		}},
		{name: "cumulative: no start time only seeds", temporal: pmetric.AggregationTemporalityCumulative, steps: []histStep{
			{t: 1030 * s, counts: []uint64{1, 2, 3}, sum: 9},
			{t: 1090 * s, counts: []uint64{1, 2, 4}, sum: 12,
				want: map[string]float64{"1": 0, "2": 0, "+Inf": 1, "count": 1, "sum": 3}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The cases are written for a one-minute limit; the default is
			// two (DefaultConfig), which FirstIntervalMax: 0 would pick.
			firstMax := tt.firstMax
			if firstMax == 0 {
				firstMax = 60 * s
			}
			r, err := New(Config{FirstIntervalMax: firstMax, Now: func() time.Time { return time.Unix(2000, 0) }}, nil, prometheus.NewRegistry(), nil)
			if err != nil {
				t.Fatal(err)
			}
			for i, st := range tt.steps {
				var rj rejects
				pts := r.mapMetrics(histogramExport(tt.temporal, st), &rj)
				if rj.n != 0 {
					t.Fatalf("step %d rejected: %s", i, rj.message())
				}
				if got := histValues(pts, "h"); !maps.Equal(got, st.want) {
					t.Fatalf("step %d stored %v, want %v", i, got, st.want)
				}
			}
		})
	}
}

// histogramExport is an export of one histogram data point "h" with min
// 0.5 and max 7.
func histogramExport(temporality pmetric.AggregationTemporality, st histStep) pmetric.Metrics {
	md := pmetric.NewMetrics()
	mt := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	mt.SetName("h")
	h := mt.SetEmptyHistogram()
	h.SetAggregationTemporality(temporality)
	dp := h.DataPoints().AppendEmpty()
	bounds := st.bounds
	if bounds == nil {
		bounds = []float64{1, 2}
	}
	dp.ExplicitBounds().FromRaw(bounds)
	dp.BucketCounts().FromRaw(st.counts)
	dp.SetCount(st.sent())
	dp.SetSum(st.sum)
	dp.SetMin(0.5)
	dp.SetMax(7)
	if st.start > 0 {
		dp.SetStartTimestamp(pcommonTime(time.Unix(0, int64(st.start))))
	}
	dp.SetTimestamp(pcommonTime(time.Unix(0, int64(st.t))))
	return md
}

// histValues reads a histogram's stored points: buckets by le, and count,
// sum, min and max by their suffix.
func histValues(pts []events.Point, name string) map[string]float64 {
	out := map[string]float64{}
	for _, p := range named(pts, name+"_bucket") {
		out[p.Attributes["le"]] = p.Value
	}
	for _, suffix := range []string{"count", "sum", "min", "max"} {
		for _, p := range named(pts, name+"_"+suffix) {
			out[suffix] = p.Value
		}
	}
	return out
}

// A cumulative histogram's state counts toward MaxTrackedSeries like a
// counter's.
func TestCumulativeHistogramSeriesBound(t *testing.T) {
	r, err := New(Config{MaxTrackedSeries: 1, Now: func() time.Time { return time.Unix(2000, 0) }}, nil, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	st := histStep{start: 1000 * time.Second, t: 1030 * time.Second, counts: []uint64{1, 1, 1}}
	var rj rejects
	r.mapMetrics(histogramExport(pmetric.AggregationTemporalityCumulative, st), &rj)
	md := histogramExport(pmetric.AggregationTemporalityCumulative, st)
	md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).SetName("other")
	if pts := r.mapMetrics(md, &rj); len(pts) != 0 || rj.count[ReasonCardinality] != 1 {
		t.Fatalf("a second series past MaxTrackedSeries 1: points %+v, rejects %v", pts, rj.count)
	}
}
