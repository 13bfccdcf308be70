package rules

import (
	"time"

	"github.com/medic-sre/medic/services/detector/internal/mlstats"
)

// The detectors for ML failures. Unlike the others, they judge a window's
// distribution or counts rather than an aggregate, so they need no
// aggregate and read windows that tumble: each window is judged once, when
// event time passes its end.
const (
	// DetectorDrift compares a feature's current window with a reference
	// (a trailing window or a profile file) by PSI or KS.
	DetectorDrift = "drift"
	// DetectorMissingRate watches the share of records that lack a feature.
	DetectorMissingRate = "missing_rate"
	// DetectorOutOfRange watches the share of a feature's values outside
	// its declared bounds.
	DetectorOutOfRange = "out_of_range"
	// DetectorVolume watches the number of records per window against the
	// counts of the windows before it (robust z-score).
	DetectorVolume = "volume"
	// DetectorCanary compares a new model version with the baseline
	// version on the same metric over the same window.
	DetectorCanary = "canary"
	// DetectorUnseen watches the share of a categorical feature's records
	// whose category its reference (a trailing window or a profile file)
	// never held.
	DetectorUnseen = "unseen_category"
)

// Methods of drift and canary rules.
const (
	MethodPSI         = "psi"
	MethodKS          = "ks"
	MethodMannWhitney = "mann_whitney"
	MethodProportion  = "proportion"
)

// Feature types of a drift rule.
const (
	FeatureNumeric     = "numeric"
	FeatureCategorical = "categorical"
)

// Defaults of the ML detectors. Drift's follow Evidently's presets.
const (
	DefaultPSIThreshold = mlstats.PSIWarning
	DefaultKSAlpha      = mlstats.KSAlpha
	DefaultCanaryAlpha  = 0.05
	// DefaultShareLimit is the missing or out-of-range share that fires.
	DefaultShareLimit = 0.05
	// DefaultDriftMinPoints is the fewest values a drift window (current,
	// and reference) needs: below a few hundred, PSI over 10 bins is noise.
	DefaultDriftMinPoints = 200
	// DefaultQualityMinPoints is the fewest records a missing-rate or
	// out-of-range window needs.
	DefaultQualityMinPoints = 50
	// DefaultUnseenShare is the share of records of unseen categories that
	// fires: one in a hundred. Its min_points is drift's, so that a single
	// stray record in a thin window cannot reach it.
	DefaultUnseenShare = 0.01
	// MaxKnownCategories bounds the distinct values an unseen_category
	// series remembers across its reference and current windows, and the
	// categories its profile may name.
	MaxKnownCategories = 512
	// DefaultVolumeMinBaseline is how many earlier windows a volume rule
	// needs before it may fire.
	DefaultVolumeMinBaseline = 5
	// MissingSuffix + a feature's point name is the point the ingest
	// service makes for a record that lacks that feature.
	MissingSuffix = ".missing"
)

// Reference is a drift or unseen_category rule's reference: a trailing window of the same
// series that ends Lag before the current window starts, or a profile file
// (see mlstats.Profile), relative to the working directory.
type Reference struct {
	Window  time.Duration `yaml:"window"`
	Lag     time.Duration `yaml:"lag"`
	Profile string        `yaml:"profile"`
}

// ML reports whether the rule is one of the ML detectors, which judge
// tumbling windows.
func (r Rule) ML() bool {
	switch r.Kind() {
	case DetectorDrift, DetectorMissingRate, DetectorOutOfRange, DetectorVolume, DetectorCanary, DetectorQuality, DetectorUnseen:
		return true
	}
	return false
}

// MLLimit is an ML rule's threshold, or its kind's default when unset:
// PSI, a p-value, a share or (volume) a number of deviations.
func (r Rule) MLLimit() float64 {
	if r.Threshold != 0 {
		return r.Threshold
	}
	switch r.Kind() {
	case DetectorDrift:
		if r.Method == MethodKS {
			return DefaultKSAlpha
		}
		return DefaultPSIThreshold
	case DetectorCanary:
		return DefaultCanaryAlpha
	case DetectorVolume:
		return DefaultDeviations
	case DetectorUnseen:
		return DefaultUnseenShare
	}
	return DefaultShareLimit
}

// MLMinPoints is min_points, or the kind's default.
func (r Rule) MLMinPoints() int {
	if r.MinPoints > 0 {
		return r.MinPoints
	}
	switch r.Kind() {
	case DetectorDrift, DetectorUnseen:
		return DefaultDriftMinPoints
	case DetectorCanary:
		return mlstats.DefaultMinSamples
	case DetectorVolume:
		return 0
	}
	return DefaultQualityMinPoints
}

// MLMinBaseline is a volume rule's min_baseline_points (in windows).
func (r Rule) MLMinBaseline() int {
	if r.MinBaselinePoints > 0 {
		return r.MinBaselinePoints
	}
	return DefaultVolumeMinBaseline
}

// MLOp is the op of an ML rule, or its default: ">" for shares, "abs"
// (either side) for volume and canary.
func (r Rule) MLOp() string {
	if r.Op != "" {
		return r.Op
	}
	if k := r.Kind(); k == DetectorVolume || k == DetectorCanary {
		return OpAbs
	}
	if r.Kind() == DetectorQuality && !errorMeasure(r.Metric) {
		return "<"
	}
	return ">"
}
