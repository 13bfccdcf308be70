package analysis

import (
	"math"
	"sort"
	"time"
)

// BucketNanos is the width of a bucket: one second.
const BucketNanos = int64(time.Second)

// Range is the half-open interval [From, To) of unix nanoseconds.
type Range struct{ From, To int64 }

// Contains reports whether the bucket starting at unix second b lies in r.
func (r Range) Contains(b int64) bool {
	ns := b * BucketNanos
	return ns >= r.From && ns < r.To
}

// Series is a value per bucket, keyed by unix second.
type Series map[int64]float64

// Frame is the buckets the analysis compares: those of the baseline and of
// the incident window where the symptom has a value, in time order.
type Frame struct {
	Baseline, Window []int64
}

// NewFrame splits the buckets of y between the baseline and the window.
func NewFrame(y Series, baseline, window Range) Frame {
	var f Frame
	for b := range y {
		switch {
		case baseline.Contains(b):
			f.Baseline = append(f.Baseline, b)
		case window.Contains(b):
			f.Window = append(f.Window, b)
		}
	}
	sort.Slice(f.Baseline, func(i, j int) bool { return f.Baseline[i] < f.Baseline[j] })
	sort.Slice(f.Window, func(i, j int) bool { return f.Window[i] < f.Window[j] })
	return f
}

// Only is f narrowed to the buckets where s has a value.
func (f Frame) Only(s Series) Frame {
	keep := func(buckets []int64) []int64 {
		out := make([]int64, 0, len(buckets))
		for _, b := range buckets {
			if _, ok := s[b]; ok {
				out = append(out, b)
			}
		}
		return out
	}
	return Frame{Baseline: keep(f.Baseline), Window: keep(f.Window)}
}

// minGaugePoints is the fewest buckets a correlation is taken over: two
// points always correlate perfectly.
const minGaugePoints = 3

// comparable reports whether a gauge's frame can be compared with the
// symptom: enough values in the window for a correlation there, or values
// in both periods and enough of them over both.
func (f Frame) comparable() bool {
	return len(f.Window) >= minGaugePoints ||
		len(f.Baseline) > 0 && len(f.Window) > 0 && len(f.Baseline)+len(f.Window) >= minGaugePoints
}

// All is the baseline's and the window's buckets together.
func (f Frame) All() []int64 {
	return append(append(make([]int64, 0, len(f.Baseline)+len(f.Window)), f.Baseline...), f.Window...)
}

// Mean is the mean of s over buckets; a bucket missing from s counts as 0,
// because a candidate with no rows in a bucket did nothing bad in it.
func Mean(s Series, buckets []int64) float64 {
	if len(buckets) == 0 {
		return 0
	}
	var sum float64
	for _, b := range buckets {
		sum += s[b]
	}
	return sum / float64(len(buckets))
}

// StdDev is the population standard deviation of s over buckets.
func StdDev(s Series, buckets []int64) float64 {
	if len(buckets) == 0 {
		return 0
	}
	m := Mean(s, buckets)
	var ss float64
	for _, b := range buckets {
		d := s[b] - m
		ss += d * d
	}
	return math.Sqrt(ss / float64(len(buckets)))
}

// flatEpsilon is the sum of squares below which a series counts as flat:
// rounding leaves a tiny non-zero spread in a constant series.
const flatEpsilon = 1e-18

// Pearson is the correlation of x and y over buckets, 0 when either is
// constant there (a flat series carries no evidence either way).
func Pearson(x, y Series, buckets []int64) float64 {
	mx, my := Mean(x, buckets), Mean(y, buckets)
	var sxy, sxx, syy float64
	for _, b := range buckets {
		dx, dy := x[b]-mx, y[b]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx < flatEpsilon || syy < flatEpsilon {
		return 0
	}
	return sxy / math.Sqrt(sxx*syy)
}
