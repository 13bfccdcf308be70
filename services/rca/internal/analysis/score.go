package analysis

import (
	"math"
	"time"
)

// Weights of the kinds of evidence; see the package doc.
const (
	WeightModelVersion = 1.0
	WeightServiceData  = 1.0
	WeightService      = 0.8
	// WeightLogTemplate: a template never seen in the baseline names the
	// very line that surged. One that was there already and only grew
	// (an error line logged per failed request) echoes the symptom as
	// much as it explains it: WeightKnownLogTemplate, a service's weight.
	WeightLogTemplate      = 1.0
	WeightKnownLogTemplate = WeightService
	// changeFactor keeps a change just below the candidate it broke.
	changeFactor = 0.9
	// liftEpsilon keeps lift finite when the baseline is flat.
	liftEpsilon = 1e-3
)

// ProximityScale is the time over which a change's proximity decays by e.
const ProximityScale = 60 * time.Second

// ChangeSlack is how long after the symptom's start a change may still be
// blamed: the symptom's start is only known to the second.
const ChangeSlack = 5 * time.Second

// Signal is one series of how bad a candidate was per bucket, in the
// symptom's units.
type Signal struct {
	Name   string
	X      Series
	Weight float64
	// Gauge says a bucket missing from X is unknown rather than 0: a
	// metric the service did not report then says nothing, where a span
	// signal's missing bucket means nothing went wrong. The signal is
	// measured over the buckets where it has a value.
	Gauge bool
}

// Candidate is a possible root cause with its signals.
type Candidate struct {
	Kind, ID                     string
	Service, Model, ModelVersion string
	// Label is what a log template candidate names: its text.
	Label   string
	Signals []Signal
	// Specificity in [0, 1] scales the score down when the candidate cannot
	// single anything out (a version that served all traffic all along).
	Specificity float64
	// Evidence holds facts the generator measured, copied to the cause.
	Evidence map[string]float64
}

// Change is a recorded change to the watched system.
type Change struct {
	ID, Kind                     string
	Service, Model, ModelVersion string
	TimeUnixNano                 int64
}

// Touches reports whether the change could have affected the candidate.
func (ch Change) Touches(c Candidate) bool {
	if c.ModelVersion != "" {
		return ch.Model == c.Model && ch.ModelVersion == c.ModelVersion
	}
	return c.Service != "" && ch.Service == c.Service
}

// Components are the measured relations of one signal to the symptom.
type Components struct {
	Corr, Lift, Explained    float64
	MeanBaseline, MeanWindow float64
	// Lag is how many buckets x leads y by at the correlation taken (0:
	// aligned); see MaxLag.
	Lag int
	// Precedence is temporal precedence's factor on the score (see
	// precedence), and Lead the steps x's onset came before y's, when
	// HasOnsets.
	Precedence, Lead float64
	HasOnsets        bool
	// Departed says a gauge was scored by its departure from its baseline
	// rather than by tracking the symptom (see departure).
	Departed bool
	// Coverage is the share of the window's buckets a gauge reported in
	// (see measureGaugeOver); 0 for other signals.
	Coverage float64
}

// Measure relates a candidate's series x to the symptom's series y.
func Measure(x, y Series, f Frame) Components { return measure(x, y, f, true) }

// measure is Measure; timed adds the lagged correlation and temporal
// precedence, which need a series with a value in every bucket.
func measure(x, y Series, f Frame, timed bool) Components {
	all := f.All()
	c := Components{
		Corr:         Pearson(x, y, all),
		MeanBaseline: Mean(x, f.Baseline),
		MeanWindow:   Mean(x, f.Window),
		Precedence:   1,
	}
	if timed {
		if lagged, lag := laggedCorr(x, y, all, stepOf(f.Window)); lagged > c.Corr {
			c.Corr, c.Lag = lagged, lag
		}
		c.Lead, c.Precedence, c.HasOnsets = precedence(x, y, f)
	}
	excessX := c.MeanWindow - c.MeanBaseline
	c.Lift = excessX / (StdDev(x, f.Baseline) + liftEpsilon)
	if excessY := Mean(y, f.Window) - Mean(y, f.Baseline); excessY != 0 {
		c.Explained = clamp01(excessX / excessY)
	}
	return c
}

// Proximity is how close a change at t is to the symptom's start s: 1 at s,
// decaying with ProximityScale, and 0 for a change after s + ChangeSlack.
func Proximity(s, t int64) float64 {
	if t > s+int64(ChangeSlack) {
		return 0
	}
	return math.Exp(-math.Abs(float64(s-t)) / float64(ProximityScale))
}

// nearestChange is the change touching c with the highest proximity to s.
func nearestChange(c Candidate, changes []Change, s int64) (Change, float64, bool) {
	var best Change
	bestProx := 0.0
	for _, ch := range changes {
		if p := Proximity(s, ch.TimeUnixNano); p > bestProx && ch.Touches(c) {
			best, bestProx = ch, p
		}
	}
	return best, bestProx, bestProx > 0
}

// signalScore is a signal's score before change proximity.
func signalScore(comp Components, weight, specificity float64) float64 {
	return math.Max(comp.Corr, 0) * comp.Explained * weight * specificity * comp.Precedence
}

func clamp01(v float64) float64 { return math.Max(0, math.Min(1, v)) }
