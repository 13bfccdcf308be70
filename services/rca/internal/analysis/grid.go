package analysis

import "slices"

// Grid is the buckets an analysis compares in: Width seconds wide, one of
// them starting at Origin (a unix second, the window's start). Queries read
// 1-second buckets; a series sampled every few minutes (a CloudWatch-style
// export) would then hold one point per sampling, and two services sampled
// a few seconds apart would share no bucket. Regrouped on the data's own
// step, their points meet.
type Grid struct {
	Origin, Width int64
}

// StepOf is the data's own step in seconds: the median gap between the
// buckets of y, at least 1. Data sampled every second keeps 1-second
// buckets.
func StepOf(y Series) int64 {
	keys := make([]int64, 0, len(y))
	for b := range y {
		keys = append(keys, b)
	}
	if len(keys) < 2 {
		return 1
	}
	slices.Sort(keys)
	gaps := make([]int64, 0, len(keys)-1)
	for i := 1; i < len(keys); i++ {
		gaps = append(gaps, keys[i]-keys[i-1])
	}
	slices.Sort(gaps)
	return max(gaps[len(gaps)/2], 1)
}

// Bucket is the start of the grid's bucket that holds second b.
func (g Grid) Bucket(b int64) int64 {
	if g.Width <= 1 {
		return b
	}
	d := b - g.Origin
	q := d / g.Width
	if d%g.Width < 0 {
		q-- // floor, for seconds before the origin
	}
	return g.Origin + q*g.Width
}

// Mean is s regrouped on the grid: the mean of its values per bucket.
func (g Grid) Mean(s Series) Series {
	if g.Width <= 1 {
		return s
	}
	sum, n := Series{}, map[int64]int{}
	for b, v := range s {
		k := g.Bucket(b)
		sum[k] += v
		n[k]++
	}
	for k := range sum {
		sum[k] /= float64(n[k])
	}
	return sum
}
