package engine

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/medic-sre/medic/services/detector/internal/rules"
)

// reading is an aggregate over some samples.
type reading struct {
	v float64
	// n is what min_points is compared with: the points, or for a ratio
	// its denominator's points, or for a histogram its observations.
	n float64
	// ok is false when the samples hold no value: a ratio whose denominator
	// sums to 0, a histogram with no observations.
	ok bool
}

// scratch holds buffers that aggregators reuse from one call to the next.
type scratch struct {
	values  []float64
	buckets []bucket
	// other, shares and slots serve the ML rules' tests.
	other  []float64
	shares []float64
	slots  []*slot
}

// aggregator reduces a non-empty run of samples to a reading.
type aggregator func(pts []sample, sc *scratch) reading

func aggregatorFor(name string, window time.Duration) (aggregator, error) {
	switch name {
	case "avg":
		return ofPoints(mean), nil
	case "sum":
		return ofPoints(sum), nil
	case "count":
		return ofPoints(func(pts []sample) float64 { return float64(len(pts)) }), nil
	case "rate":
		secs := window.Seconds()
		return ofPoints(func(pts []sample) float64 { return float64(len(pts)) / secs }), nil
	case "max":
		return ofPoints(extreme(greater)), nil
	case "min":
		return ofPoints(extreme(less)), nil
	case "p50":
		return quantile(0.50), nil
	case "p95":
		return quantile(0.95), nil
	case "p99":
		return quantile(0.99), nil
	case rules.AggregateRatio:
		return ratio, nil
	}
	if q, ok := strings.CutPrefix(name, rules.HistogramPrefix); ok {
		switch q {
		case "p50":
			return histogramQuantile(0.50), nil
		case "p90":
			return histogramQuantile(0.90), nil
		case "p95":
			return histogramQuantile(0.95), nil
		case "p99":
			return histogramQuantile(0.99), nil
		}
	}
	return nil, fmt.Errorf("unknown aggregate %q", name)
}

// ofPoints makes an aggregator of a function of the points' values, which
// min_points compares by the number of points.
func ofPoints(f func(pts []sample) float64) aggregator {
	return func(pts []sample, _ *scratch) reading {
		return reading{v: f(pts), n: float64(len(pts)), ok: true}
	}
}

func sum(pts []sample) float64 {
	var s float64
	for _, p := range pts {
		s += p.v
	}
	return s
}

// mean is the average; values near the float64 limit, whose sum would
// overflow to +Inf, are divided before they are added.
func mean(pts []sample) float64 {
	n := float64(len(pts))
	if m := sum(pts) / n; !math.IsInf(m, 0) {
		return m
	}
	var m float64
	for _, p := range pts {
		m += p.v / n
	}
	return m
}

func less(a, b float64) bool    { return a < b }
func greater(a, b float64) bool { return a > b }

func extreme(better func(a, b float64) bool) func(pts []sample) float64 {
	return func(pts []sample) float64 {
		m := pts[0].v
		for _, p := range pts[1:] {
			if better(p.v, m) {
				m = p.v
			}
		}
		return m
	}
}

// quantile interpolates linearly between the closest ranks, as
// Prometheus's quantile_over_time does.
func quantile(q float64) aggregator {
	return func(pts []sample, sc *scratch) reading {
		s := sc.values[:0]
		for _, p := range pts {
			s = append(s, p.v)
		}
		slices.Sort(s)
		sc.values = s
		rank := q * float64(len(s)-1)
		lo := int(math.Floor(rank))
		hi := min(lo+1, len(s)-1)
		frac := rank - float64(lo)
		return reading{v: s[lo] + (s[hi]-s[lo])*frac, n: float64(len(s)), ok: true}
	}
}
