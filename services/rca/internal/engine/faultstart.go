package engine

import (
	"context"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/rca/internal/analysis"
	"github.com/medic-sre/medic/services/rca/internal/query"
)

// faultStart dates the fault and says how. A change that rank 1 points at
// dates it exactly. Without one, it is estimated from the data: the onset
// of the symptom in the window against the baseline (query.SymptomOnset),
// or, when the baseline is empty or no onset shows, the earliest start of
// the analysed anomalies. Only when neither exists is it unknown.
func (e *Engine) faultStart(ctx context.Context, t Task, sc *Scope, baseline query.Coverage, res analysis.Result) (int64, string, error) {
	if res.FaultStartedUnixNano != 0 {
		return res.FaultStartedUnixNano, events.FaultStartChange, nil
	}
	if baseline.Seconds > 0 {
		b, ok, err := e.r.SymptomOnset(ctx, sc.Symptom.Expr, sc.Symptom.Service, query.Range(sc.Window), baseline)
		if err != nil {
			return 0, "", err
		}
		if ok {
			return b * analysis.BucketNanos, events.FaultStartSymptomOnset, nil
		}
	}
	if s := t.earliestStart(); s > 0 {
		return s, events.FaultStartSymptomOnset, nil
	}
	return 0, events.FaultStartUnknown, nil
}
