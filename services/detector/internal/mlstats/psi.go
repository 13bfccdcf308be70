package mlstats

import (
	"errors"
	"math"

	"gonum.org/v1/gonum/stat"
)

// Evidently's default drift thresholds (evidently.metrics data drift presets).
const (
	// PSIWarning is the PSI from which a feature counts as drifting.
	PSIWarning = 0.1
	// PSICritical is the PSI from which the drift is critical.
	PSICritical = 0.25
	// KSAlpha is the KS p-value below which a numeric feature drifts.
	KSAlpha = 0.05
)

// PSIEpsilon replaces the share of an empty bin before logarithms are taken,
// so that a bin seen in only one window adds a large but finite term.
// 0.0001 is the value Evidently fills empty bins with.
const PSIEpsilon = 0.0001

// DefaultPSIBins is the number of reference-quantile bins for numeric PSI.
const DefaultPSIBins = 10

// ErrNoData is returned when a window holds no finite value to compare.
var ErrNoData = errors.New("mlstats: no finite values")

// Severity grades a drift statistic against its thresholds.
type Severity int

// Severities in increasing order.
const (
	SeverityNone Severity = iota
	SeverityWarning
	SeverityCritical
)

// String names the severity as rules and anomalies spell it.
func (s Severity) String() string {
	switch s {
	case SeverityWarning:
		return "warning"
	case SeverityCritical:
		return "critical"
	default:
		return "none"
	}
}

// ClassifyPSI grades a PSI with Evidently's thresholds.
func ClassifyPSI(psi float64) Severity {
	switch {
	case psi >= PSICritical:
		return SeverityCritical
	case psi >= PSIWarning:
		return SeverityWarning
	default:
		return SeverityNone
	}
}

// BinShare is one bin of a PSI comparison with the raw (unsmoothed) share of
// each window in it.
type BinShare struct {
	// Label is the category, or the numeric interval as "(lo, hi]".
	Label     string  `json:"label"`
	Reference float64 `json:"reference"`
	Current   float64 `json:"current"`
	// Unseen marks a category that the reference window did not contain.
	Unseen bool `json:"unseen,omitempty"`
}

// PSIResult is a PSI with the bins it was computed from.
type PSIResult struct {
	PSI  float64    `json:"psi"`
	Bins []BinShare `json:"bins"`
	// Skipped counts non-finite values left out of the current window.
	Skipped int `json:"skipped,omitempty"`
}

// Severity grades the result with Evidently's thresholds.
func (r PSIResult) Severity() Severity { return ClassifyPSI(r.PSI) }

// PSI returns the Population Stability Index of two share vectors over the
// same bins:
//
//	PSI = Σ (cur_i − ref_i) · ln(cur_i / ref_i)
//
// after zero shares are replaced by PSIEpsilon. That sum equals the symmetric
// Kullback–Leibler divergence KL(cur‖ref) + KL(ref‖cur), which is how it is
// computed here (gonum stat.KullbackLeibler). It panics if the lengths differ.
func PSI(reference, current []float64) float64 {
	if len(reference) != len(current) {
		panic("mlstats: PSI of share vectors of different lengths")
	}
	ref, cur := withEpsilon(reference), withEpsilon(current)
	return stat.KullbackLeibler(cur, ref) + stat.KullbackLeibler(ref, cur)
}

func withEpsilon(shares []float64) []float64 {
	out := make([]float64, len(shares))
	for i, s := range shares {
		if s <= 0 {
			s = PSIEpsilon
		}
		out[i] = s
	}
	return out
}

// NumericPSI compares two numeric windows on DefaultPSIBins bins cut at the
// reference window's quantiles (see NumericProfile.PSI). Evidently's own PSI
// cuts equal-width bins over both windows together; quantile bins of the
// reference are the usual PSI practice, give every reference bin a similar
// share, and let a stored profile carry the bins without the reference data.
func NumericPSI(reference, current []float64) (PSIResult, error) {
	p, err := newNumericProfile(reference, ProfileOptions{})
	if err != nil {
		return PSIResult{}, err
	}
	return p.PSI(current)
}

// CategoricalPSI compares two categorical windows with every reference
// category as a bin; each category found only in the current window gets a
// bin of its own (see CategoricalProfile.PSI).
func CategoricalPSI(reference, current []string) (PSIResult, error) {
	p, err := newCategoricalProfile(reference, ProfileOptions{TopK: math.MaxInt})
	if err != nil {
		return PSIResult{}, err
	}
	return p.PSI(current)
}
