package analysis

import "math"

// MaxLag is how many buckets a cause's series may lead the symptom's by in
// the lagged correlation: a slow dependency's queue, a feature pipeline's
// batch or a config reload can take a few buckets to show up upstream.
// Only a lead counts: a candidate that moves after the symptom is more
// likely its consequence than its cause.
const MaxLag = 3

// onsetSigma is how many baseline standard deviations above the baseline
// mean a bucket must be to mark a series' onset.
const onsetSigma = 3

// trailingPenalty scales the score of a candidate whose anomaly began more
// than one bucket after the symptom's: temporal precedence, as in
// causal-inference RCA, without letting one late bucket veto a strong
// correlation.
const trailingPenalty = 0.8

// stepOf is the smallest gap between consecutive buckets, 0 for fewer than
// two.
func stepOf(buckets []int64) int64 {
	var step int64
	for i := 1; i < len(buckets); i++ {
		if d := buckets[i] - buckets[i-1]; d > 0 && (step == 0 || d < step) {
			step = d
		}
	}
	return step
}

// laggedCorr is the best Pearson correlation of x led by 1..MaxLag steps
// with y over buckets (x at b - lag*step against y at b; a bucket missing
// from x counts as 0, as in Mean), and the lag it was found at.
func laggedCorr(x, y Series, buckets []int64, step int64) (float64, int) {
	best, bestLag := math.Inf(-1), 0
	if step <= 0 {
		return best, 0
	}
	shifted := make(Series, len(buckets))
	for lag := 1; lag <= MaxLag; lag++ {
		clear(shifted)
		for _, b := range buckets {
			shifted[b] = x[b-int64(lag)*step]
		}
		if c := Pearson(shifted, y, buckets); c > best {
			best, bestLag = c, lag
		}
	}
	return best, bestLag
}

// onset is the first window bucket from which s stays, for this bucket and
// the next, above the baseline mean by onsetSigma baseline standard
// deviations and, when halfPeak, by half of the window's peak excess too;
// false when it never does. Two buckets keep one noisy bucket from passing
// for a start; half the peak keeps a skewed noise (an error ratio's) from
// it as well, and is asked of the symptom only: a candidate's rise counts
// from its first clear step, since a coarse signal (log template counts
// spread over 10-second buckets) climbs to its peak a bucket late.
func onset(s Series, f Frame, halfPeak bool) (int64, bool) {
	mean, sd := Mean(s, f.Baseline), StdDev(s, f.Baseline)
	peak := math.Inf(-1)
	for _, b := range f.Window {
		peak = math.Max(peak, s[b])
	}
	if peak <= mean {
		return 0, false
	}
	excess := math.Max(onsetSigma*sd, 1e-9*math.Max(1, math.Abs(mean)))
	if halfPeak {
		excess = math.Max(excess, 0.5*(peak-mean))
	}
	limit := mean + excess
	for i, b := range f.Window {
		if s[b] > limit && (i+1 == len(f.Window) || s[f.Window[i+1]] > limit) {
			return b, true
		}
	}
	return 0, false
}

// precedence compares the onsets of x and y: the number of steps x's began
// before y's (negative after), and the factor temporal precedence puts on
// the score (trailingPenalty when x began more than one step after y, else
// 1). Without a baseline to rise above, both onsets, or a step, it has no
// say.
func precedence(x, y Series, f Frame) (leadSteps float64, factor float64, ok bool) {
	step := stepOf(f.Window)
	if len(f.Baseline) < minGaugePoints {
		return 0, 1, false
	}
	ox, okx := onset(x, f, false)
	oy, oky := onset(y, f, true)
	if !okx || !oky || step == 0 {
		return 0, 1, false
	}
	lead := float64(oy-ox) / float64(step)
	if lead < -1 {
		return lead, trailingPenalty, true
	}
	return lead, 1, true
}
