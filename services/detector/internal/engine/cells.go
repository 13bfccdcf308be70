package engine

import (
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/medic-sre/medic/services/detector/internal/rules"
)

// cells is a series' window kept as running sums instead of its points,
// for the aggregates whose sums merge (sum, count, rate, ratio, histogram
// quantiles, and a baseline rule's avg, min and max): a raw window of
// histogram buckets held 20 points an export.
// A cell gathers the points of one export time (a threshold rule over
// exports, whose `for` run reaches back export by export: see
// cellRunStart) or of one evaluation step (the other rules with cells,
// see compileCells). Evaluation times are
// multiples of the step, and a step-celled rule's window is too, so a
// window or a step is a run of whole cells and its aggregate is that of
// its points, but for the order in which they were added.
type cells struct {
	// step is a cell's span, (key-step, key]; 0 for one cell an export time.
	step int64
	// keys is each cell's time, oldest first: its export's, or its step's
	// end. firsts is each step cell's oldest point (nil for export cells,
	// whose points share the key).
	keys, firsts []int64
	// vals holds width sums a cell (see cellKind).
	vals  sums
	width int
	// bounds are a histogram's bucket bounds, sorted: a cell's value j is
	// its count at bounds[j], NaN when no point had that bound, so that a
	// window has the buckets its points had. The rule's series share them.
	bounds []float64
}

// cellKind is what a rule's cells sum.
type cellKind uint8

const (
	rawPoints    cellKind = iota // no cells: the aggregate needs each point
	sumCells                     // sum of the values, points
	ratioCells                   // numerator sum, denominator sum, denominator points
	histCells                    // count at each bucket bound
	extremeCells                 // the least or greatest value, points
)

// cellKindOf is what the cells of a rule over aggregate sum; baseline is
// true for a baseline-relative rule. Such a rule judges steps, not points
// (see rule.track), so its avg, min and max merge as cells too; a
// threshold rule's `for` judges each of their points.
func cellKindOf(aggregate string, baseline bool) cellKind {
	switch {
	case aggregate == "sum", aggregate == "count", aggregate == "rate":
		return sumCells
	case baseline && aggregate == "avg":
		return sumCells
	case baseline && (aggregate == "min" || aggregate == "max"):
		return extremeCells
	case aggregate == rules.AggregateRatio:
		return ratioCells
	case strings.HasPrefix(aggregate, rules.HistogramPrefix):
		return histCells
	}
	return rawPoints
}

// compileCells chooses how r's series keep their windows: export cells
// for a threshold rule over exports, step cells where windows are whole
// steps, and raw points otherwise (a threshold rule's avg, min and max,
// which `for` judges point by point, percentiles, and windows that cut a
// step).
func (r *rule) compileCells(step time.Duration) {
	r.cellKind = cellKindOf(r.spec.Aggregate, r.newBaseline != nil)
	switch {
	case r.cellKind == rawPoints:
	case r.perExport && r.newBaseline == nil:
		r.cellStep = 0
	case r.spec.Window%step == 0:
		r.cellStep = int64(step)
	case r.perExport:
		r.cellStep = 0
	default:
		r.cellKind = rawPoints
	}
	switch r.cellKind {
	case sumCells:
		r.cellWidth = 2
	case extremeCells:
		r.cellWidth, r.better = 2, greater
		if r.spec.Aggregate == "min" {
			r.better = less
		}
	case ratioCells:
		r.cellWidth = 3
	}
	r.cellAgg = cellAggregatorFor(r.spec.Aggregate, r.spec.Window)
	r.stepCellAgg = cellAggregatorFor(r.spec.Aggregate, step)
}

func (r *rule) newCells() *cells {
	return &cells{step: r.cellStep, width: r.cellWidth}
}

// keyOf is the key of the cell that holds a point of time t.
func (c *cells) keyOf(t int64) int64 {
	if c.step == 0 {
		return t
	}
	k := t - t%c.step
	if k < t {
		k += c.step
	}
	return k
}

// add merges a point of time t and value v into its cell; k is its side
// of a ratio or its bucket bound (see rule.keyOf).
func (c *cells) add(r *rule, t int64, v, k float64) {
	j := 0
	if r.cellKind == histCells {
		j = c.boundIndex(r, k)
	}
	at := c.cellAt(c.keyOf(t), t, r.cellKind) * c.width
	switch r.cellKind {
	case sumCells:
		c.vals.set(at, c.vals.get(at)+v)
		c.vals.set(at+1, c.vals.get(at+1)+1)
	case ratioCells:
		if k == denominator {
			c.vals.set(at+1, c.vals.get(at+1)+v)
			c.vals.set(at+2, c.vals.get(at+2)+1)
		} else {
			c.vals.set(at, c.vals.get(at)+v)
		}
	case extremeCells:
		if n := c.vals.get(at + 1); n == 0 || r.better(v, c.vals.get(at)) {
			c.vals.set(at, v)
		}
		c.vals.set(at+1, c.vals.get(at+1)+1)
	case histCells:
		if x := c.vals.get(at + j); math.IsNaN(x) {
			c.vals.set(at+j, v)
		} else {
			c.vals.set(at+j, x+v)
		}
	}
}

// cellAt is the index of the cell of key k, made empty if there is none;
// t is the point's time. Points mostly come in order: the cell is the
// newest, or a new one after it.
func (c *cells) cellAt(k, t int64, kind cellKind) int {
	i := len(c.keys)
	for i > 0 && c.keys[i-1] > k {
		i--
	}
	if i > 0 && c.keys[i-1] == k {
		if c.step != 0 && t < c.firsts[i-1] {
			c.firsts[i-1] = t
		}
		return i - 1
	}
	c.keys = open(c.keys, i, 1)
	c.keys[i] = k
	if c.step != 0 {
		c.firsts = open(c.firsts, i, 1)
		c.firsts[i] = t
	}
	empty := 0.0
	if kind == histCells {
		empty = math.NaN()
	}
	c.vals.open(i*c.width, c.width, empty)
	return i
}

// open makes room for n elements at i. A full array grows by just those:
// a window's cells number about the same from one step to the next, and
// append's doubling would hold up to twice that for good.
func open[T any](s []T, i, n int) []T {
	l := len(s)
	if l+n > cap(s) {
		g := make([]T, l+n)
		copy(g, s[:i])
		copy(g[i+n:], s[i:])
		return g
	}
	s = s[:l+n]
	copy(s[i+n:], s[i:l])
	return s
}

// boundIndex is the value index of bucket bound le, widening every cell
// by a missing value when the series had no such bound yet.
func (c *cells) boundIndex(r *rule, le float64) int {
	j, ok := slices.BinarySearch(c.bounds, le)
	if ok {
		return j
	}
	c.bounds = r.sharedBounds(slices.Insert(slices.Clone(c.bounds), j, le))
	for i := len(c.keys) - 1; i >= 0; i-- {
		c.vals.open(i*c.width+j, 1, math.NaN())
	}
	c.width++
	return j
}

// sharedBounds is the rule's copy of a list of bounds, so that its series,
// which mostly see the same buckets, hold one list between them.
func (r *rule) sharedBounds(b []float64) []float64 {
	for _, s := range r.bounds {
		if slices.Equal(s, b) {
			return s
		}
	}
	r.bounds = append(r.bounds, b)
	return b
}

// in is the index range [lo, hi) of the cells of the window (from, to].
func (c *cells) in(from, to int64) (lo, hi int) {
	lo = sort.Search(len(c.keys), func(i int) bool { return c.keys[i] > from })
	hi = len(c.keys)
	for hi > lo && c.keys[hi-1] > to {
		hi--
	}
	return lo, hi
}

// first is the time of cell i's oldest point.
func (c *cells) first(i int) int64 {
	if c.step == 0 {
		return c.keys[i]
	}
	return c.firsts[i]
}

// evictBefore drops the cells whose points are all at or before t (t is a
// multiple of the step), moving the rest to the front so that the arrays
// do not grow.
func (c *cells) evictBefore(t int64) {
	i := sort.Search(len(c.keys), func(i int) bool { return c.keys[i] > t })
	if i == 0 {
		return
	}
	c.keys = c.keys[:copy(c.keys, c.keys[i:])]
	if c.step != 0 {
		c.firsts = c.firsts[:copy(c.firsts, c.firsts[i:])]
	}
	c.vals.dropFirst(i * c.width)
}

// cellAggregator reduces cells [lo, hi) to a reading, as an aggregator
// does their points.
type cellAggregator func(c *cells, lo, hi int, sc *scratch) reading

func cellAggregatorFor(name string, span time.Duration) cellAggregator {
	switch name {
	case "sum":
		return func(c *cells, lo, hi int, _ *scratch) reading {
			v, n := c.total(lo, hi, 0), c.total(lo, hi, 1)
			return reading{v: v, n: n, ok: true}
		}
	case "count":
		return func(c *cells, lo, hi int, _ *scratch) reading {
			n := c.total(lo, hi, 1)
			return reading{v: n, n: n, ok: true}
		}
	case "rate":
		secs := span.Seconds()
		return func(c *cells, lo, hi int, _ *scratch) reading {
			n := c.total(lo, hi, 1)
			return reading{v: n / secs, n: n, ok: true}
		}
	case "avg":
		return func(c *cells, lo, hi int, _ *scratch) reading {
			v, n := c.total(lo, hi, 0), c.total(lo, hi, 1)
			return reading{v: v / n, n: n, ok: true}
		}
	case "min":
		return cellExtreme(less)
	case "max":
		return cellExtreme(greater)
	case rules.AggregateRatio:
		return cellRatio
	}
	if q, ok := strings.CutPrefix(name, rules.HistogramPrefix); ok {
		switch q {
		case "p50":
			return cellHistogramQuantile(0.50)
		case "p90":
			return cellHistogramQuantile(0.90)
		case "p95":
			return cellHistogramQuantile(0.95)
		case "p99":
			return cellHistogramQuantile(0.99)
		}
	}
	return nil
}

// total sums value j over cells [lo, hi).
func (c *cells) total(lo, hi, j int) float64 {
	var s float64
	for i := lo; i < hi; i++ {
		s += c.vals.get(i*c.width + j)
	}
	return s
}

// cellExtreme is min or max over cells: the best of their values.
func cellExtreme(better func(a, b float64) bool) cellAggregator {
	return func(c *cells, lo, hi int, _ *scratch) reading {
		m, n := c.vals.get(lo*c.width), 0.0
		for i := lo; i < hi; i++ {
			if v := c.vals.get(i * c.width); better(v, m) {
				m = v
			}
			n += c.vals.get(i*c.width + 1)
		}
		return reading{v: m, n: n, ok: true}
	}
}

// cellRatio is ratio over cells.
func cellRatio(c *cells, lo, hi int, _ *scratch) reading {
	num, den, n := c.total(lo, hi, 0), c.total(lo, hi, 1), c.total(lo, hi, 2)
	if den == 0 {
		return reading{n: n}
	}
	return reading{v: num / den, n: n, ok: true}
}

// cellHistogramQuantile is histogramQuantile over cells: the buckets are
// the bounds that some cell had, each the sum of its counts.
func cellHistogramQuantile(q float64) cellAggregator {
	return func(c *cells, lo, hi int, sc *scratch) reading {
		b := sc.buckets[:0]
		for j, le := range c.bounds {
			count, seen := 0.0, false
			for i := lo; i < hi; i++ {
				if v := c.vals.get(i*c.width + j); !math.IsNaN(v) {
					count, seen = count+v, true
				}
			}
			if seen {
				b = append(b, bucket{le: le, count: count})
			}
		}
		sc.buckets = b
		return bucketQuantile(q, b)
	}
}
