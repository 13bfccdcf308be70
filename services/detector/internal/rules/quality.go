package rules

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/medic-sre/medic/pkg/config"
)

// DetectorQuality judges a model's quality from its labels, which arrive
// after its predictions: the detector's label join turns each labelled
// prediction into outcome points stamped at the prediction's time, with
// the prediction's model version (QualityInputs), and a quality rule judges
// tumbling windows of prediction time once label_delay has passed after
// each, so that a window is judged on all its labels, and late labels of a
// version that was rolled back land in that version's past windows.
const DetectorQuality = "quality"

// The points the label join emits for each labelled prediction, at the
// prediction's time: for a classifier, quality.correct (1 or 0) and one of
// quality.tp, fp, fn or tn (value 1); for a regressor, quality.abs_error and
// quality.sq_error.
const (
	PointCorrect  = "quality.correct"
	PointTP       = "quality.tp"
	PointFP       = "quality.fp"
	PointFN       = "quality.fn"
	PointTN       = "quality.tn"
	PointAbsError = "quality.abs_error"
	PointSqError  = "quality.sq_error"
)

// PredictionIDLabel is the attribute naming a prediction, which the label
// join keys on and no rule may group by.
const PredictionIDLabel = "prediction_id"

// The measures a quality rule's metric names.
const (
	MeasureAccuracy  = "quality.accuracy"
	MeasurePrecision = "quality.precision"
	MeasureRecall    = "quality.recall"
	MeasureF1        = "quality.f1"
	MeasureMAE       = "quality.mae"
	MeasureRMSE      = "quality.rmse"
)

// Measures are the metrics a quality rule may name.
var Measures = []string{MeasureAccuracy, MeasurePrecision, MeasureRecall, MeasureF1, MeasureMAE, MeasureRMSE}

// QualityInputs are the outcome points a quality measure is computed from.
func QualityInputs(measure string) []string {
	switch measure {
	case MeasureAccuracy:
		return []string{PointCorrect}
	case MeasurePrecision:
		return []string{PointTP, PointFP}
	case MeasureRecall:
		return []string{PointTP, PointFN}
	case MeasureF1:
		return []string{PointTP, PointFP, PointFN}
	case MeasureMAE:
		return []string{PointAbsError}
	case MeasureRMSE:
		return []string{PointSqError}
	}
	return nil
}

// errorMeasure reports whether a measure is an error, which is bad when
// high (the others are bad when low).
func errorMeasure(measure string) bool { return measure == MeasureMAE || measure == MeasureRMSE }

func (r Rule) validateQuality(i int) []error {
	var errs []error
	bad := func(field any, format string, args ...any) {
		errs = append(errs, config.Field(fmt.Sprintf(format, args...), "rules", i, field))
	}
	if r.Metric != "" && !slices.Contains(Measures, r.Metric) {
		bad("metric", "%q is not one of %s", r.Metric, strings.Join(Measures, ", "))
	}
	if r.Op != "" && !slices.Contains(Ops, r.Op) {
		bad("op", "%q is not one of %s", r.Op, strings.Join(Ops, ", "))
	}
	if r.Threshold == 0 {
		bad("threshold", "is missing: the %s that is bad", r.Metric)
	}
	if r.LabelDelay < 0 {
		bad("label_delay", "must not be negative")
	}
	if !slices.Contains(r.GroupBy, "model_version") {
		bad("group_by", "must include model_version: a version's labels judge that version, and keep judging it after a rollback")
	}
	return errs
}

// labelDelayOnly checks that label_delay is set on quality rules only.
func (r Rule) labelDelayOnly(i int) []error {
	if r.LabelDelay != 0 && r.Kind() != DetectorQuality {
		return []error{config.Field(fmt.Sprintf("needs detector: %s (got %s)", DetectorQuality, r.Kind()), "rules", i, "label_delay")}
	}
	return nil
}

// MaxLabelDelay is the longest label_delay among rules, 0 when none has one:
// how far back in prediction time quality points may be stamped and still
// be evaluated.
func (f *File) MaxLabelDelay() time.Duration {
	var d time.Duration
	for _, r := range f.Rules {
		d = max(d, r.LabelDelay)
	}
	return d
}

// NeedsLabels reports whether a rule of the file judges labels, so that
// the detector must join them to their predictions.
func (f *File) NeedsLabels() bool {
	for _, r := range f.Rules {
		if r.Kind() == DetectorQuality {
			return true
		}
	}
	return false
}
