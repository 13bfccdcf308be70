package rules

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/medic-sre/medic/pkg/config"
	"github.com/medic-sre/medic/pkg/events"
)

// Aggregates, operators and severities a rule may name.
var (
	Aggregates = []string{"avg", "sum", "count", "max", "min", "p50", "p95", "p99", "rate",
		AggregateRatio, "histogram_p50", "histogram_p90", "histogram_p95", "histogram_p99"}
	Ops = []string{">", ">=", "<", "<="}
	// BaselineOps are the ops of zscore and ewma rules: above, below, or
	// either side of the baseline (abs).
	BaselineOps = []string{">", "<", OpAbs}
	Detectors   = []string{DetectorThreshold, DetectorZScore, DetectorEWMA,
		DetectorDrift, DetectorMissingRate, DetectorOutOfRange, DetectorVolume, DetectorCanary, DetectorQuality, DetectorUnseen}
	NoDataActions = []string{NoDataResolve, NoDataFire, NoDataKeep}
	Severities    = []string{events.SeverityInfo, events.SeverityWarning, events.SeverityCritical}
)

// OpAbs fires a baseline-relative rule on either side of its baseline.
const OpAbs = "abs"

// AggregateRatio divides the sum of the metric's values by the sum of the
// denominator's over the window.
const AggregateRatio = "ratio"

// HistogramPrefix starts the aggregates that read a histogram's X_bucket
// points and compute a quantile as Prometheus' histogram_quantile does.
const HistogramPrefix = "histogram_"

// BucketLabel is the attribute holding a histogram bucket's upper bound.
const BucketLabel = "le"

// labelName accepts point fields and OpenTelemetry-style attribute keys,
// which may contain dots ("http.route").
var labelName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.\-]*$`)

// Validate checks every rule; each error names the rule's index and field.
func (f *File) Validate() error {
	if len(f.Rules) == 0 {
		return config.Field("no rules: add at least one", "rules")
	}
	var errs []error
	seen := map[string]int{}
	for i, r := range f.Rules {
		errs = append(errs, r.validate(i)...)
		if j, dup := seen[r.Name]; dup && r.Name != "" {
			errs = append(errs, config.Field(fmt.Sprintf("duplicate rule name %q (also rules[%d])", r.Name, j), "rules", i, "name"))
		}
		seen[r.Name] = i
	}
	return errors.Join(errs...)
}

func (r Rule) validate(i int) []error {
	var errs []error
	bad := func(field any, format string, args ...any) {
		errs = append(errs, config.Field(fmt.Sprintf(format, args...), "rules", i, field))
	}
	if r.Name == "" {
		bad("name", "is empty")
	}
	if r.Metric == "" {
		bad("metric", "is empty: name the point to watch, e.g. prediction.errors_rate")
	}
	oneOf := func(field, v string, allowed []string) {
		if !slices.Contains(allowed, v) {
			bad(field, "%q is not one of %s", v, strings.Join(allowed, ", "))
		}
	}
	switch {
	case r.ML():
		errs = append(errs, r.validateML(i)...)
	case r.BaselineRelative():
		oneOf("aggregate", r.Aggregate, Aggregates)
		oneOf("op", r.Op, BaselineOps)
	default:
		oneOf("aggregate", r.Aggregate, Aggregates)
		oneOf("op", r.Op, Ops)
	}
	// A PSI drift rule may leave severity to the PSI (warning from 0.1,
	// critical from 0.25).
	if r.Severity != "" || !r.psiSeverity() {
		oneOf("severity", r.Severity, Severities)
	}
	if r.Window <= 0 {
		bad("window", "must be a positive duration such as 30s")
	}
	if r.For < 0 {
		bad("for", "must not be negative")
	}
	if r.ResolveFor != nil && *r.ResolveFor < 0 {
		bad("resolve_for", "must not be negative")
	}
	if r.MinPoints < 0 {
		bad("min_points", "must not be negative")
	}
	errs = append(errs, r.validateDetector(i)...)
	errs = append(errs, r.labelDelayOnly(i)...)
	errs = append(errs, r.validateLabels(i)...)
	errs = append(errs, r.validateShape(i)...)
	if _, err := r.Template(); err != nil {
		bad("summary", "bad template: %v", err)
	}
	return errs
}

func (r Rule) validateLabels(i int) []error {
	var errs []error
	for k := range r.Match {
		if !labelName.MatchString(k) {
			errs = append(errs, config.Field(fmt.Sprintf("%q is not a field or attribute name", k), "rules", i, "match"))
		}
	}
	for j, g := range r.GroupBy {
		switch {
		case !labelName.MatchString(g):
			errs = append(errs, config.Field(fmt.Sprintf("%q is not service, model, model_version or an attribute key", g), "rules", i, "group_by", j))
		case slices.Index(r.GroupBy, g) != j:
			errs = append(errs, config.Field(fmt.Sprintf("%q is listed twice", g), "rules", i, "group_by", j))
		case g == PredictionIDLabel:
			errs = append(errs, config.Field("prediction_id would make a series of every prediction: the label join keys on it, rules do not", "rules", i, "group_by", j))
		}
	}
	return errs
}

// validateShape checks the fields that only ratio and histogram rules use.
func (r Rule) validateShape(i int) []error {
	var errs []error
	bad := func(field any, format string, args ...any) {
		errs = append(errs, config.Field(fmt.Sprintf(format, args...), "rules", i, field))
	}
	switch {
	case r.Aggregate == AggregateRatio && r.Denominator == "":
		bad("denominator", "is empty: aggregate ratio divides metric by a denominator metric, e.g. requests_rate")
	case r.Aggregate != AggregateRatio && r.Denominator != "":
		bad("denominator", "needs aggregate: ratio (got %q)", r.Aggregate)
	case r.Denominator != "" && r.Denominator == r.Metric:
		bad("denominator", "is the metric itself: the ratio would always be 1")
	}
	if strings.HasPrefix(r.Aggregate, HistogramPrefix) {
		// Every bucket of a histogram must land in one series.
		if strings.HasSuffix(r.Metric, "_bucket") {
			bad("metric", "names the histogram, not its buckets: %q", strings.TrimSuffix(r.Metric, "_bucket"))
		}
		if j := slices.Index(r.GroupBy, BucketLabel); j >= 0 {
			errs = append(errs, config.Field(fmt.Sprintf("%q would split a histogram into its buckets", BucketLabel), "rules", i, "group_by", j))
		}
		if _, ok := r.Match[BucketLabel]; ok {
			bad("match", "%q would keep some of a histogram's buckets only", BucketLabel)
		}
	}
	return errs
}

// validateDetector checks detector, no_data and the fields that only
// baseline-relative rules use.
func (r Rule) validateDetector(i int) []error {
	var errs []error
	bad := func(field any, format string, args ...any) {
		errs = append(errs, config.Field(fmt.Sprintf(format, args...), "rules", i, field))
	}
	if r.Detector != "" && !slices.Contains(Detectors, r.Detector) {
		bad("detector", "%q is not one of %s", r.Detector, strings.Join(Detectors, ", "))
	}
	if r.NoData != "" && !slices.Contains(NoDataActions, r.NoData) {
		bad("no_data", "%q is not one of %s", r.NoData, strings.Join(NoDataActions, ", "))
	}
	if r.NoDataAfter != nil && *r.NoDataAfter < 0 {
		bad("no_data_after", "must not be negative")
	}
	kind := r.Kind()
	notFor := func(field string, set bool, want string) {
		if set && kind != want {
			bad(field, "needs detector: %s (got %s)", want, kind)
		}
	}
	if r.Baseline != 0 && kind != DetectorZScore && kind != DetectorVolume {
		bad("baseline", "needs detector: zscore or volume (got %s)", kind)
	}
	notFor("alpha", r.Alpha != 0, DetectorEWMA)
	notFor("half_life", r.HalfLife != 0, DetectorEWMA)
	if r.MinBaselinePoints != 0 && !r.BaselineRelative() && kind != DetectorVolume {
		bad("min_baseline_points", "needs detector: zscore, ewma or volume (got %s)", kind)
	}
	if !r.BaselineRelative() {
		return errs
	}
	if r.Threshold < 0 {
		bad("threshold", "is a number of standard deviations for detector %s: must be positive (unset: %v)", kind, DefaultDeviations)
	}
	if r.Baseline < 0 {
		bad("baseline", "must be a positive duration such as 10m")
	}
	if r.MinBaselinePoints < 0 {
		bad("min_baseline_points", "must not be negative")
	}
	if r.Alpha < 0 || r.Alpha > 1 {
		bad("alpha", "must be in (0, 1], got %v", r.Alpha)
	}
	if r.HalfLife < 0 {
		bad("half_life", "must be a positive duration such as 2m")
	}
	if r.Alpha != 0 && r.HalfLife != 0 {
		bad("half_life", "set alpha or half_life, not both")
	}
	return errs
}
