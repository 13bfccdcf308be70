package engine

import (
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/detector/internal/rules"
)

// export is one histogram export: le-cumulative counts by bound.
type export map[float64]float64

// samplesOf lays exports out as a window's samples, one per bucket.
func samplesOf(exports ...export) []sample {
	var out []sample
	for i, ex := range exports {
		for le, n := range ex {
			out = append(out, sample{t: int64(i), v: n, k: le})
		}
	}
	return out
}

// The expected values are worked by hand the way Prometheus'
// histogram_quantile computes them: rank = q * observations, the first
// bucket whose count reaches the rank, linear interpolation inside it
// (from 0 for the first bucket), the highest finite bound for the +Inf
// bucket.
func TestHistogramQuantile(t *testing.T) {
	infB := math.Inf(1)
	// Two exports of one histogram over [100, 250, 500, +Inf]: summed per
	// bound they are 2, 8, 17, 20.
	two := []export{{100: 2, 250: 5, 500: 8, infB: 10}, {100: 0, 250: 3, 500: 9, infB: 10}}
	tests := []struct {
		name    string
		q       string
		exports []export
		want    float64
		wantN   float64
		noValue bool
	}{
		{name: "interpolates inside a bucket", q: "p50", exports: []export{{0.1: 10, 0.5: 50, 1: 90, infB: 100}},
			want: 0.1 + 0.4*(40.0/40), wantN: 100},
		{name: "rank on a bucket's bound", q: "p90", exports: []export{{0.1: 10, 0.5: 50, 1: 90, infB: 100}},
			want: 1, wantN: 100},
		{name: "in the +Inf bucket: the highest finite bound", q: "p95", exports: []export{{0.1: 10, 0.5: 50, 1: 90, infB: 100}},
			want: 1, wantN: 100},
		{name: "exports summed per bound", q: "p50", exports: two,
			want: 250 + 250*(2.0/9), wantN: 20}, // rank 10: 2 into the (250, 500] bucket's 9
		{name: "exports summed, +Inf", q: "p99", exports: two, want: 500, wantN: 20},
		{name: "first bucket starts at 0", q: "p90", exports: []export{{1: 5, 2: 10, infB: 10}},
			want: 1 + 1*(4.0/5), wantN: 10},
		{name: "first bucket with a bound at or below 0 is its bound", q: "p50", exports: []export{{-1: 4, 0: 4, infB: 8}},
			want: -1, wantN: 8},
		{name: "counts made monotonic", q: "p50", exports: []export{{1: 2, 2: 1, 3: 10, infB: 10}},
			want: 2 + 1*(3.0/8), wantN: 10}, // the 2 bucket counts 2: rank 5 is 3 into the (2, 3] bucket's 8
		{name: "no +Inf bucket has no value", q: "p50", exports: []export{{1: 5, 2: 10}}, noValue: true},
		{name: "no observations have no value", q: "p50", exports: []export{{1: 0, infB: 0}}, noValue: true},
		{name: "the +Inf bucket alone has no value", q: "p50", exports: []export{{infB: 7}}, wantN: 7, noValue: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			agg, err := aggregatorFor(rules.HistogramPrefix+tc.q, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			got := agg(samplesOf(tc.exports...), &scratch{})
			if got.ok == tc.noValue || got.n != tc.wantN || (got.ok && math.Abs(got.v-tc.want) > 1e-9) {
				t.Fatalf("got %+v, want value %v over %v observations (no value: %v)", got, tc.want, tc.wantN, tc.noValue)
			}
		})
	}
}

// latRule fires when the p95 of the lat histogram is above 250 over 500ms
// for 300ms, with at least 20 observations in the window.
func latRule() rules.Rule {
	resolve := 300 * time.Millisecond
	return rules.Rule{Name: "latency", Metric: "lat", GroupBy: []string{"service", "model"},
		Aggregate: "histogram_p95", Window: 500 * time.Millisecond, Op: ">", Threshold: 250, For: 300 * time.Millisecond,
		ResolveFor: &resolve, MinPoints: 20, Severity: "warning", Summary: "p95 {{num .Value}}"}
}

var les = []string{"100", "250", "500", "+Inf"}

// Exports every 50ms of 10 observations each: fast ones all at most 100,
// slow ones with 6 of 10 in (250, 500].
func fast(from, to int) []events.Point {
	return bucketPoints("lat", "ms", from, to, 50, les, []float64{10, 10, 10, 10})
}
func slow(from, to int) []events.Point {
	return bucketPoints("lat", "ms", from, to, 50, les, []float64{2, 4, 10, 10})
}

func TestHistogramRule(t *testing.T) {
	tests := []struct {
		name   string
		points []events.Point
		want   []string
	}{
		{name: "fast stays quiet", points: fast(0, 4000)},
		{name: "slow fires from its first export", points: cat(fast(0, 2000), slow(2000, 4000)),
			want: []string{"detected latency{ms} +2000ms"}},
		{name: "a slow blip shorter than for stays pending", points: cat(fast(0, 2000), slow(2000, 2200), fast(2200, 4000))},
		{name: "resolves once fast again", points: cat(fast(0, 2000), slow(2000, 3000), fast(3000, 5000)),
			want: []string{"detected latency{ms} +2000ms", "resolved latency{ms}"}},
		{name: "min_points counts observations: 10 in a window are too few",
			points: bucketPoints("lat", "ms", 0, 4000, 50, les, []float64{0, 0, 1, 1})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, latRule())
			out := run(e, byTime(tc.points, ms(250))...)
			sameTimeline(t, describe(out), tc.want)
			for _, em := range out {
				if d, ok := em.Data.(events.AnomalyDetected); ok {
					// At the 2400ms step the window holds 9 slow exports and 1
					// fast: 28, 46, 100, 100 by bound; rank 95 falls in
					// (250, 500] at 49/54 of the way.
					want := 250 + 250*(49.0/54)
					if d.Metric != "lat" || math.Abs(d.Value-want) > 1e-9 || len(d.Labels) != 2 {
						t.Errorf("detected metric %q value %v labels %v, want \"lat\", %v and no le", d.Metric, d.Value, d.Labels, want)
					}
				}
			}
			if n := e.Series(); n > 1 {
				t.Errorf("%d series: the buckets must share one", n)
			}
		})
	}
}

// Bucket points whose le is not a number are left out and counted; the
// others still make the quantile.
func TestUnparsableBucketsAreRejected(t *testing.T) {
	e := newEngine(t, latRule())
	points := cat(fast(0, 2000), slow(2000, 4000))
	var bad []events.Point
	for _, le := range []string{"", "abc", "NaN"} {
		p := points[0]
		p.Attributes = map[string]string{"le": le}
		p.Value = 1e6 // would swamp the quantile if it were kept
		bad = append(bad, p)
	}
	if got := e.Observe(bad, 0, noLimit); got.BadBucket != len(bad) || got.Total() != len(bad) {
		t.Fatalf("rejected %+v, want %d bad buckets", got, len(bad))
	}
	sameTimeline(t, describe(run(e, byTime(points, ms(250))...)), []string{"detected latency{ms} +2000ms"})
}

func TestBucketBound(t *testing.T) {
	tests := []struct {
		le   string
		want float64
		ok   bool
	}{
		{"0.25", 0.25, true}, {"+Inf", math.Inf(1), true}, {"1e3", 1000, true},
		{"", 0, false}, {"abc", 0, false}, {"NaN", 0, false},
	}
	for _, tc := range tests {
		t.Run(strconv.Quote(tc.le), func(t *testing.T) {
			got, ok := bucketBound(&events.Point{Attributes: map[string]string{"le": tc.le}})
			if ok != tc.ok || (ok && got != tc.want) {
				t.Fatalf("got %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}
