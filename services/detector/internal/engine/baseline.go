package engine

import (
	"math"
	"slices"
)

// maxRing bounds a zscore series' ring of per-stride values (4 bytes
// each), so that a long baseline over a short window cannot take a
// series' memory past 16 KiB.
const maxRing = 4096

// Floors of a baseline's spread: a flat baseline (MAD or variance 0) would
// make any change infinitely many deviations away, so the spread is at
// least 0.1% of the baseline's centre (and 1e-9 when the centre is 0 too).
const (
	spreadFloorRel = 1e-3
	spreadFloorAbs = 1e-9
)

// band is what a series' value is judged against at one step: a centre
// and the spread (one standard deviation) of a window's aggregate, or not
// ready when the baseline is too short to judge. A step's own aggregate
// (for `for`, see rule.track) is judged against the same band, as a
// threshold rule judges it against the same threshold.
type band struct {
	center, scale float64
	ready         bool
}

// z is how many spreads v lies from the centre.
func (b band) z(v float64) float64 { return (v - b.center) / b.scale }

func spread(center, s float64) float64 {
	return max(s, spreadFloorRel*math.Abs(center), spreadFloorAbs)
}

// baseline is a series' memory of its own past values, one per
// evaluation step (k is the step's index: its time over the step).
type baseline interface {
	// band is what the value of step k is judged against.
	band(k int64, r *rule, sc *scratch) band
	// push records step k: its window's aggregate, whether that breached
	// the band, and the step's own aggregate (see stepReading).
	push(k int64, window float64, breach bool, step stepReading, r *rule)
}

// stepReading is one step's own aggregate, in the window's terms; ok is
// false for a step without a value, anomalous when it breached the band.
type stepReading struct {
	v             float64
	ok, anomalous bool
}

// zscoreBaseline keeps the window aggregates of the last steps in a ring
// and judges a step by the robust z-score over the aggregates of its
// baseline, which ends where the current window begins. The ring holds one
// aggregate a stride of steps (float32: 4 bytes; NaN for a stride without
// a value), the last one pushed in it. Windows of 10 steps or more keep
// every other step's: two neighbours share 90% or more of their points,
// and over 25 simulated healthy hours this fired as often as keeping
// every step (BenchmarkZScoreStride), for half the memory. Longer strides
// did not: a quarter window fired 64% more.
type zscoreBaseline struct {
	vals []float32
	last int64 // the newest stride pushed
}

func (z *zscoreBaseline) band(k int64, r *rule, sc *scratch) band {
	if z.vals == nil {
		return band{}
	}
	n, s := int64(len(z.vals)), r.ringStride
	// The strides wholly within the baseline's steps
	// [k-window-baseline+1, k-window]: a stride that reaches into the
	// current window may hold a window that overlaps it.
	hi := min((k-r.windowSteps+1)/s-1, z.last)
	lo := max(ceilDiv(k-r.windowSteps-r.baselineSteps+1, s), z.last-n+1)
	vs := sc.values[:0]
	for j := lo; j <= hi; j++ {
		if v := z.vals[j%n]; !math.IsNaN(float64(v)) {
			vs = append(vs, float64(v))
		}
	}
	sc.values = vs
	if int64(len(vs))*s < int64(r.minBaseline) || len(vs) == 0 {
		return band{}
	}
	med := median(vs)
	for i, v := range vs {
		vs[i] = math.Abs(v - med)
	}
	return band{center: med, scale: spread(med, 1.4826*median(vs)), ready: true}
}

// median sorts vs in place and returns its middle.
func median(vs []float64) float64 {
	slices.Sort(vs)
	m := len(vs) / 2
	if len(vs)%2 == 1 {
		return vs[m]
	}
	return (vs[m-1] + vs[m]) / 2
}

// push keeps every step, anomalous or not: the median and MAD shrug off
// a fault that fills less than half the baseline.
func (z *zscoreBaseline) push(k int64, v float64, _ bool, _ stepReading, r *rule) {
	b := k / r.ringStride
	if z.vals == nil {
		z.vals = make([]float32, r.ringLen)
		for i := range z.vals {
			z.vals[i] = float32(math.NaN())
		}
		z.last = b - 1
	}
	if b < z.last {
		return
	}
	n := int64(len(z.vals))
	for j := int64(1); j < b-z.last && j <= n; j++ {
		z.vals[(z.last+j)%n] = float32(math.NaN()) // strides without a value
	}
	z.vals[b%n] = float32(v)
	z.last = b
}

// ewmaBaseline is an exponentially weighted mean and variance of the
// series' step aggregates. Steps do not overlap, as windows do, so their
// variance is that of the data (a window's aggregate moves too little from
// one step to the next to measure it); a window's spread follows from it
// as for a mean of independent steps (see band). Like a
// zscore baseline, it leaves out the current window: a step enters the
// EWMA when it leaves the window, so pending holds the window's steps
// (NaN for a step without a value), and last is the newest one's index.
type ewmaBaseline struct {
	mean, variance float64
	n              int
	pending        []float32
	last           int64
}

func (w *ewmaBaseline) band(_ int64, r *rule, _ *scratch) band {
	if !w.ready(r) {
		return band{}
	}
	// The window's mean and the EWMA's each vary: the window's by the
	// steps' variance over windowSteps, the EWMA's (of independent steps)
	// by alpha/(2-alpha) of it. The current window is not in the EWMA, so
	// the variance of their difference is the sum.
	sd := math.Sqrt(w.variance * (1/float64(r.windowSteps) + r.alpha/(2-r.alpha)))
	return band{center: w.mean, scale: spread(w.mean, sd), ready: true}
}

func (w *ewmaBaseline) ready(r *rule) bool { return w.n >= r.minBaseline && w.n > 0 }

// push queues step k's aggregate and moves the steps that left the window
// into the EWMA, but for anomalous ones, so that a fault does not become
// the new normal while it waits out `for`: while the window breaches,
// nothing enters, and a step past the limit in steps' spreads never does.
func (w *ewmaBaseline) push(k int64, _ float64, breach bool, st stepReading, r *rule) {
	if w.pending == nil {
		w.pending = make([]float32, r.windowSteps)
		for i := range w.pending {
			w.pending[i] = float32(math.NaN())
		}
		w.last = k - 1
	}
	if k <= w.last {
		return
	}
	n := int64(len(w.pending))
	for j := max(w.last+1, k-n+1); j <= k; j++ {
		old := float64(w.pending[j%n])
		w.pending[j%n] = float32(math.NaN())
		if !math.IsNaN(old) && !breach {
			w.update(old, r)
		}
	}
	if st.ok {
		w.pending[k%n] = float32(st.v)
	}
	w.last = k
}

func (w *ewmaBaseline) update(v float64, r *rule) {
	if w.ready(r) && r.zcond((v-w.mean)/spread(w.mean, math.Sqrt(w.variance))) {
		return
	}
	if w.n == 0 {
		w.mean, w.variance, w.n = v, 0, 1
		return
	}
	diff := v - w.mean
	incr := r.alpha * diff
	w.mean += incr
	w.variance = (1 - r.alpha) * (w.variance + diff*incr)
	if w.n < math.MaxInt32 {
		w.n++
	}
}
