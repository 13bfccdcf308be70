package engine

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// aggregator reduces a window's values to one number. scratch is a buffer
// it may use (percentiles sort a copy); it returns it, possibly grown.
type aggregator func(pts []sample, scratch []float64) (float64, []float64)

func aggregatorFor(name string, window time.Duration) (aggregator, error) {
	switch name {
	case "avg":
		return func(pts []sample, s []float64) (float64, []float64) { return mean(pts), s }, nil
	case "sum":
		return func(pts []sample, s []float64) (float64, []float64) { return sum(pts), s }, nil
	case "count":
		return func(pts []sample, s []float64) (float64, []float64) { return float64(len(pts)), s }, nil
	case "rate":
		secs := window.Seconds()
		return func(pts []sample, s []float64) (float64, []float64) { return float64(len(pts)) / secs, s }, nil
	case "max":
		return extreme(func(a, b float64) bool { return a > b }), nil
	case "min":
		return extreme(func(a, b float64) bool { return a < b }), nil
	case "p50":
		return quantile(0.50), nil
	case "p95":
		return quantile(0.95), nil
	case "p99":
		return quantile(0.99), nil
	}
	return nil, fmt.Errorf("unknown aggregate %q", name)
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

func extreme(better func(a, b float64) bool) aggregator {
	return func(pts []sample, s []float64) (float64, []float64) {
		m := pts[0].v
		for _, p := range pts[1:] {
			if better(p.v, m) {
				m = p.v
			}
		}
		return m, s
	}
}

// quantile interpolates linearly between the closest ranks, as
// Prometheus's quantile_over_time does.
func quantile(q float64) aggregator {
	return func(pts []sample, s []float64) (float64, []float64) {
		s = s[:0]
		for _, p := range pts {
			s = append(s, p.v)
		}
		slices.Sort(s)
		rank := q * float64(len(s)-1)
		lo := int(math.Floor(rank))
		hi := min(lo+1, len(s)-1)
		frac := rank - float64(lo)
		return s[lo] + (s[hi]-s[lo])*frac, s
	}
}
