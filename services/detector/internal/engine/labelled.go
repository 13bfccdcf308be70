package engine

import (
	"math"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/detector/internal/rules"
)

// compileQuality sets up a quality rule: its windows are of prediction
// time, and each is judged label_delay after it ends.
func (m *mlRule) compileQuality(spec rules.Rule, r *rule, step int64) error {
	r.inputs = rules.QualityInputs(spec.Metric)
	m.grace = ceilDiv(int64(spec.LabelDelay), step) * step
	m.ringLen = int(ceilDiv(m.grace, m.width)) + 2
	var err error
	m.cond, err = condition(spec.MLOp(), m.limit)
	return err
}

// addOutcome counts one labelled prediction's outcome point in its window.
// Unlike the other ML rules, a quality series does not drop repeats: many
// predictions share a time and an outcome, and the label join emits each
// labelled prediction once. Its windows are a map, not a ring: a batch
// may span more windows than the label delay (a backlog replayed after a
// restart), and a ring would reuse a window's slot before it is judged.
func (r *rule) addOutcome(st *mlState, idx int64, p *events.Point) pointFate {
	sl := st.open[idx]
	if sl == nil {
		sl = &slot{idx: idx}
		st.open[idx] = sl
	}
	sl.n++
	sl.sum += p.Value
	if p.Name == rules.PointTP || (p.Name == rules.PointCorrect && p.Value != 0) {
		sl.hits++
	}
	return taken
}

// judgeQuality judges window idx of prediction time on its labels: an
// accuracy, precision, recall or F1 from the outcome counts, or an MAE or
// RMSE from the errors. Its evidence's statistic is the number of labels.
func (r *rule) judgeQuality(st *mlState, idx int64) mlVerdict {
	sl := st.open[idx]
	delete(st.open, idx)
	switch {
	case sl == nil:
		return empty
	case int(sl.n) < r.ml.minPoints:
		return undecided
	}
	n, hits := float64(sl.n), float64(sl.hits)
	var v float64
	switch r.spec.Metric {
	case rules.MeasureAccuracy, rules.MeasurePrecision, rules.MeasureRecall:
		// Precision counts tp and fp, recall tp and fn: hits over n either way.
		v = hits / n
	case rules.MeasureF1:
		// 2tp / (2tp + fp + fn), where n = tp + fp + fn.
		v = 2 * hits / (n + hits)
	case rules.MeasureMAE:
		v = sl.sum / n
	case rules.MeasureRMSE:
		v = math.Sqrt(sl.sum / n)
	}
	st.result = mlResult{value: v, expected: r.ml.limit, statistic: n}
	if r.ml.cond(v) {
		return anomalous
	}
	return normal
}

// qualityTicks are the evaluation times in [start, end] at which a quality
// series judges a window: a quality series does nothing at the others, and
// a label delay of hours would be too many steps to walk.
func (r *rule) qualityTicks(start, end int64, out []int64) []int64 {
	m := r.ml
	t := start - (start-m.grace)%m.width
	if t < start {
		t += m.width
	}
	first := max(t, end-(end-m.grace)%m.width-maxCatchUp*m.width)
	for t = first; t <= end; t += m.width {
		out = append(out, t)
	}
	return out
}
