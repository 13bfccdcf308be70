package engine

import (
	"cmp"
	"math"
	"slices"
	"sort"
	"strconv"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/detector/internal/rules"
)

// bucket is one histogram bucket: the observations at or below le.
type bucket struct {
	le    float64
	count float64
}

// bucketBound reads a bucket point's upper bound from its le attribute;
// ok is false when there is none, or it is not a number.
func bucketBound(p *events.Point) (le float64, ok bool) {
	le, err := strconv.ParseFloat(p.Attributes[rules.BucketLabel], 64)
	return le, err == nil && !math.IsNaN(le)
}

// histogramQuantile reads X_bucket samples (k is the bound) whose values
// are per-export, le-cumulative counts: summed per bound over the samples,
// they are the histogram of the observations in those samples' time.
func histogramQuantile(q float64) aggregator {
	return func(pts []sample, sc *scratch) reading {
		b := sc.buckets[:0]
		for _, p := range pts {
			b = append(b, bucket{le: p.k, count: p.v})
		}
		slices.SortFunc(b, func(x, y bucket) int { return cmp.Compare(x.le, y.le) })
		sc.buckets = b
		return bucketQuantile(q, coalesce(b))
	}
}

// coalesce sums buckets of the same bound, in place; b is sorted by bound.
func coalesce(b []bucket) []bucket {
	if len(b) == 0 {
		return b
	}
	out := b[:1]
	for _, x := range b[1:] {
		if last := &out[len(out)-1]; last.le == x.le {
			last.count += x.count
		} else {
			out = append(out, x)
		}
	}
	return out
}

// bucketQuantile is Prometheus' histogram_quantile over buckets sorted by
// bound, one per bound: the q-quantile by linear interpolation inside the
// bucket it falls in (the first bucket starting at 0 when its bound is
// positive), and the highest finite bound when it falls in the +Inf
// bucket. Without a +Inf bucket, or with no observations, or fewer than
// two buckets, there is no value. Its observations (for min_points) are the
// +Inf bucket's count.
func bucketQuantile(q float64, b []bucket) reading {
	if len(b) == 0 || !math.IsInf(b[len(b)-1].le, 1) {
		return reading{}
	}
	ensureMonotonic(b)
	observations := b[len(b)-1].count
	if len(b) < 2 || observations <= 0 {
		return reading{n: observations}
	}
	at := func(v float64) reading { return reading{v: v, n: observations, ok: true} }
	rank := q * observations
	i := sort.Search(len(b)-1, func(i int) bool { return b[i].count >= rank })
	switch {
	case i == len(b)-1:
		return at(b[len(b)-2].le)
	case i == 0 && b[0].le <= 0:
		return at(b[0].le)
	}
	start, end, count := 0.0, b[i].le, b[i].count
	if i > 0 {
		start = b[i-1].le
		count -= b[i-1].count
		rank -= b[i-1].count
	}
	return at(start + (end-start)*(rank/count))
}

// ensureMonotonic raises any count below a lower bound's to it, as
// Prometheus does: counts of a cumulative layout never fall, but sums over
// exports that lost a bucket point could.
func ensureMonotonic(b []bucket) {
	top := math.Inf(-1)
	for i := range b {
		if b[i].count > top {
			top = b[i].count
		} else {
			b[i].count = top
		}
	}
}
