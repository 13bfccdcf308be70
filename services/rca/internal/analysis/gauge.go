package analysis

import "math"

// measureGaugeOver measures a gauge over the buckets of f where it has a
// value (see MeasureGauge); false when too few of them compare. Its
// explained share is then scaled by its coverage, the share of the
// window's buckets it reported in: where it reported nothing it explains
// none of the symptom that anyone can see, so one sample in a window of
// five, however far off its baseline, weighs a fifth of a gauge that
// moved with the symptom in all five.
func measureGaugeOver(x, y Series, f Frame) (Components, bool) {
	fr := f.Only(x)
	if !fr.comparable() || len(f.Window) == 0 {
		return Components{}, false
	}
	c := MeasureGauge(x, y, fr)
	c.Coverage = float64(len(fr.Window)) / float64(len(f.Window))
	c.Explained *= c.Coverage
	return c, true
}

// MeasureGauge relates a gauge's series x (a service's own metric in the
// symptom's units) to the symptom y. A gauge's baseline may have been
// recorded apart from the incident (normal operation months later), so its
// level says little about the window; what the window itself shows counts
// as much. With at least minGaugePoints buckets in the window and a symptom
// that moves there:
//   - corr is the geometric mean of the correlation over baseline and window
//     and the correlation within the window: a cause moves with the symptom
//     at the fault's onset, not only when its level differs from the
//     baseline's;
//   - explained is the slope of x on y within the window, in [0, 1]: how
//     much of the symptom's movement the candidate's own moves along. With
//     a baseline too short to say how much a metric normally moves (fewer
//     than minGaugePoints buckets), the slope is taken relative to each
//     series' level (see elasticity).
//
// A gauge that departed from its baseline in the symptom's direction but
// does not track the symptom bucket by bucket is scored by its departure
// instead, when that scores higher (see departure).
//
// Otherwise it is Measure.
func MeasureGauge(x, y Series, f Frame) Components {
	// A gauge's frame skips the buckets it has no value in, so a shift by
	// whole buckets, and an onset, would read unknowns as values: no lag
	// and no precedence for gauges.
	c := measure(x, y, f, false)
	if len(f.Window) < minGaugePoints || StdDev(y, f.Window) == 0 {
		return c
	}
	dep := departure(x, y, f, c)
	c.Corr = math.Sqrt(math.Max(c.Corr, 0) * math.Max(Pearson(x, y, f.Window), 0))
	slope := Slope(x, y, f.Window)
	if len(f.Baseline) < minGaugePoints {
		slope = elasticity(slope, x, y, f)
	}
	c.Explained = clamp01(slope)
	if signalScore(dep, 1, 1) > signalScore(c, 1, 1) {
		return dep
	}
	return c
}

// elasticity is the slope of x on y in units of their levels (their means
// over the baseline, else over the window): how many percent x moved per
// percent of the symptom's move. An absolute slope lets a metric with large
// values (a batch step's seconds against a web page's milliseconds) explain
// the symptom by its noise alone; a baseline of one or two buckets cannot
// scale that noise by its usual spread, so the level has to.
func elasticity(slope float64, x, y Series, f Frame) float64 {
	lx, ly := level(x, f), level(y, f)
	if lx == 0 {
		return 0
	}
	return slope * math.Abs(ly/lx)
}

// level is s's mean over the baseline, or over the window without one.
func level(s Series, f Frame) float64 {
	if len(f.Baseline) > 0 {
		return Mean(s, f.Baseline)
	}
	return Mean(s, f.Window)
}

// Departure scoring: N-Sigma's rule, as in RCAEval's baselines.
const (
	// departureSigma is how many baseline standard deviations from the
	// baseline mean a window bucket must lie to have departed.
	departureSigma = 3
	// departureFactor scales a departure's evidence down against a
	// correlation's: a gauge that left its normal range while the symptom
	// did, but did not move with it bucket by bucket, is weaker evidence
	// than one that did, so it ranks below such gauges of like size.
	departureFactor = 0.1
)

// departure is c (x measured against y over the baseline and the window)
// scored by how far x left its baseline in the window instead of how it
// tracked y: corr is departureFactor times the share of window buckets
// more than departureSigma baseline standard deviations from the baseline
// mean, on the side the symptom moved to; explained is the share of the
// symptom's excess that x's excess accounts for, as in Measure. A failing
// callee's errors reach its caller's availability a bucket late or only
// partly, so its availability departs with the symptom's without
// correlating with it; a metric that never varied in the baseline and now
// does is a symptom in itself (N-Sigma, Coroot's checks). It needs a
// baseline long enough to estimate the spread.
func departure(x, y Series, f Frame, c Components) Components {
	excessY := Mean(y, f.Window) - Mean(y, f.Baseline)
	if len(f.Baseline) < minGaugePoints || excessY == 0 {
		return Components{Precedence: 1}
	}
	mean, sd := Mean(x, f.Baseline), StdDev(x, f.Baseline)
	// A constant baseline still needs a departure beyond rounding.
	limit := math.Max(departureSigma*sd, 1e-9*math.Max(1, math.Abs(mean)))
	departed := 0
	for _, b := range f.Window {
		if d := x[b] - mean; d*excessY > 0 && math.Abs(d) > limit {
			departed++
		}
	}
	c.Corr = departureFactor * float64(departed) / float64(len(f.Window))
	c.Departed = true
	return c
}

// Slope is the least-squares slope of x on y over buckets, 0 when y is flat
// there.
func Slope(x, y Series, buckets []int64) float64 {
	mx, my := Mean(x, buckets), Mean(y, buckets)
	var sxy, syy float64
	for _, b := range buckets {
		sxy += (x[b] - mx) * (y[b] - my)
		syy += (y[b] - my) * (y[b] - my)
	}
	if syy < flatEpsilon {
		return 0
	}
	return sxy / syy
}
