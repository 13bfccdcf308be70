// Package rules declares the detector's alerting rules: what metric to watch,
// how to aggregate it over a sliding window, and when its value is anomalous.
// Rules are YAML, shaped like Prometheus alerting rules, and are checked
// strictly at start so that a bad file fails with its file, line and field.
package rules

import (
	_ "embed"
	"fmt"
	"math"
	"strconv"
	"text/template"
	"time"

	"github.com/medic-sre/medic/pkg/config"
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultName labels errors in the embedded default rules.
const DefaultName = "embedded default rules"

// File is a rules file.
type File struct {
	Rules []Rule `yaml:"rules"`
}

// Rule is one alerting rule. One alert series exists per distinct value of
// the GroupBy labels among the points that pass Match.
type Rule struct {
	Name string `yaml:"name"`
	// Metric is the point name the rule reads: the numerator of a ratio
	// rule, or the histogram whose X_bucket points a histogram rule reads.
	Metric string `yaml:"metric"`
	// Denominator is a ratio rule's second point name (aggregate: ratio):
	// the value is sum(Metric) / sum(Denominator) over the window.
	Denominator string            `yaml:"denominator"`
	Match       map[string]string `yaml:"match"`
	// GroupBy names point fields (service, model, model_version) or
	// attribute keys; each distinct combination is its own series.
	GroupBy   []string      `yaml:"group_by"`
	Aggregate string        `yaml:"aggregate"`
	Window    time.Duration `yaml:"window"`
	Op        string        `yaml:"op"`
	Threshold float64       `yaml:"threshold"`
	For       time.Duration `yaml:"for"`
	// ResolveFor is a pointer so that "unset" (default: For) differs from 0.
	ResolveFor *time.Duration `yaml:"resolve_for"`
	// MinPoints is how much data a window needs to decide: points, or for
	// a ratio its denominator's points, or for a histogram its observations.
	MinPoints int    `yaml:"min_points"`
	Severity  string `yaml:"severity"`
	Summary   string `yaml:"summary"`

	// Detector says what the window's aggregate is judged against:
	// threshold (the default), or a baseline of the series' own past,
	// zscore or ewma, where Threshold is a limit in standard deviations.
	Detector string `yaml:"detector"`
	// NoData says what a series whose window has been empty for
	// NoDataAfter does: resolve (the default), fire or keep.
	NoData string `yaml:"no_data"`
	// NoDataAfter is a pointer so that "unset" (default: Window) differs
	// from 0.
	NoDataAfter *time.Duration `yaml:"no_data_after"`
	// Baseline is how far back a zscore baseline reaches, before the
	// current window (DefaultBaseline if 0).
	Baseline time.Duration `yaml:"baseline"`
	// MinBaselinePoints is how many steps of baseline a zscore or ewma
	// rule needs before it may fire (DefaultMinBaselinePoints if 0).
	MinBaselinePoints int `yaml:"min_baseline_points"`
	// Alpha is an ewma rule's smoothing factor, or HalfLife the age at
	// which a step weighs half as much as the newest (DefaultAlpha if
	// neither is set).
	Alpha    float64       `yaml:"alpha"`
	HalfLife time.Duration `yaml:"half_life"`

	// Method is a drift rule's test (psi, the default, or ks) or a canary
	// rule's (mann_whitney, the default, or proportion: each point's value
	// is an outcome, non-zero counting as an event).
	Method string `yaml:"method"`
	// Reference is what a drift rule compares the current window with.
	Reference *Reference `yaml:"reference"`
	// FeatureType is a drift rule's numeric (the default) or categorical:
	// each distinct value is a category (the ingest service carries
	// categories only as numeric codes).
	FeatureType string `yaml:"feature_type"`
	// Bounds is an out_of_range rule's [lo, hi], both included.
	Bounds []float64 `yaml:"bounds"`
	// BaselineVersion is the model version a canary rule compares the
	// others with; unset, the version with the most points in the window.
	BaselineVersion string `yaml:"baseline_version"`
	// LabelDelay is how long after a quality rule's window of prediction
	// time its labels may still arrive: the window is judged then.
	LabelDelay time.Duration `yaml:"label_delay"`
}

// Detector kinds, no-data actions and their defaults.
const (
	DetectorThreshold = "threshold"
	DetectorZScore    = "zscore"
	DetectorEWMA      = "ewma"

	NoDataResolve = "resolve"
	NoDataFire    = "fire"
	NoDataKeep    = "keep"

	DefaultBaseline          = 10 * time.Minute
	DefaultMinBaselinePoints = 30
	DefaultAlpha             = 0.1
	// DefaultDeviations is a zscore or ewma rule's threshold when unset.
	DefaultDeviations = 4.0
)

// Kind is the rule's detector, threshold when unset.
func (r Rule) Kind() string {
	if r.Detector == "" {
		return DetectorThreshold
	}
	return r.Detector
}

// BaselineRelative reports whether the rule judges a series against its
// own past rather than a fixed threshold.
func (r Rule) BaselineRelative() bool {
	k := r.Kind()
	return k == DetectorZScore || k == DetectorEWMA
}

// Limit is the threshold the rule compares with: for a baseline-relative
// rule, the number of standard deviations, DefaultDeviations when unset;
// for an ML rule its MLLimit.
func (r Rule) Limit() float64 {
	if r.ML() {
		return r.MLLimit()
	}
	if r.BaselineRelative() && r.Threshold == 0 {
		return DefaultDeviations
	}
	return r.Threshold
}

// NoDataAction is no_data, resolve when unset.
func (r Rule) NoDataAction() string {
	if r.NoData == "" {
		return NoDataResolve
	}
	return r.NoData
}

// NoDataGrace is how long a window must have been empty before the
// no_data action applies: no_data_after, or the window when unset.
func (r Rule) NoDataGrace() time.Duration {
	if r.NoDataAfter != nil {
		return *r.NoDataAfter
	}
	return r.Window
}

// BaselineSpan is a zscore rule's baseline, DefaultBaseline when unset.
func (r Rule) BaselineSpan() time.Duration {
	if r.Baseline == 0 {
		return DefaultBaseline
	}
	return r.Baseline
}

// MinBaseline is min_baseline_points, DefaultMinBaselinePoints when unset.
func (r Rule) MinBaseline() int {
	if r.MinBaselinePoints == 0 {
		return DefaultMinBaselinePoints
	}
	return r.MinBaselinePoints
}

// Smoothing is an ewma rule's alpha per evaluation step: alpha, or the
// one that halves a step's weight over half_life, or DefaultAlpha.
func (r Rule) Smoothing(step time.Duration) float64 {
	switch {
	case r.Alpha > 0:
		return r.Alpha
	case r.HalfLife > 0:
		return 1 - math.Exp2(-float64(step)/float64(r.HalfLife))
	}
	return DefaultAlpha
}

// Expression is what the rule watches, as anomalies name it: the metric,
// or "<numerator> / <denominator>" for a ratio rule. Other services parse
// that form, so it has exactly one space each side of the slash.
func (r Rule) Expression() string {
	if r.Denominator != "" {
		return r.Metric + " / " + r.Denominator
	}
	return r.Metric
}

// ResolveAfter is how long the condition must be false before a firing
// series resolves: resolve_for, or for when resolve_for is unset.
func (r Rule) ResolveAfter() time.Duration {
	if r.ResolveFor != nil {
		return *r.ResolveFor
	}
	return r.For
}

// SummaryData is what a rule's summary template can use.
type SummaryData struct {
	Rule string
	// Metric is the rule's Expression.
	Metric    string
	Severity  string
	Value     float64
	Threshold float64
	// Expected is what Value was judged against: the threshold, or the
	// baseline's median or EWMA mean; Statistic is the z-score of a
	// baseline-relative rule (0 for a threshold rule).
	Expected  float64
	Statistic float64
	// PValue is the p-value of a drift (ks) or canary rule's test, else 0.
	PValue float64
	Labels map[string]string
}

// Template parses the rule's summary template. Besides the standard
// functions (printf), it has num, which writes a number human-sized.
func (r Rule) Template() (*template.Template, error) {
	return template.New(r.Name).Option("missingkey=zero").Funcs(template.FuncMap{"num": Num}).Parse(r.Summary)
}

// Num formats a number for a title: at most 4 significant digits, in
// exponent form when large or small (1e+308, 1e-09), so that a wild value
// can never make a 300-digit title. Integers of any Go type are accepted,
// so that {{num 3}} works too.
func Num(v any) string {
	switch n := v.(type) {
	case float64:
		return strconv.FormatFloat(n, 'g', 4, 64)
	case float32:
		return strconv.FormatFloat(float64(n), 'g', 4, 32)
	case int:
		return strconv.FormatFloat(float64(n), 'g', 4, 64)
	case int64:
		return strconv.FormatFloat(float64(n), 'g', 4, 64)
	}
	return fmt.Sprint(v)
}

// Load reads rules from path, or the embedded defaults when path is empty.
func Load(path string) (*File, error) {
	var f File
	if path == "" {
		return &f, config.Load(DefaultName, defaultYAML, &f)
	}
	if err := config.LoadFile(path, &f); err != nil {
		return nil, fmt.Errorf("%w\n(fix the rules file named by --rules / RULES_FILE)", err)
	}
	return &f, nil
}
