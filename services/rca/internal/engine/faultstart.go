package engine

import (
	"context"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/rca/internal/analysis"
	"github.com/medic-sre/medic/services/rca/internal/query"
)

// onset is the first second of the window at which the symptom departs from
// its baseline (query.SymptomOnset), in unix nanoseconds, and false when
// the baseline is empty or nothing departs from it.
func (e *Engine) onset(ctx context.Context, sc *Scope, baseline query.Coverage) (int64, bool, error) {
	if baseline.Seconds == 0 {
		return 0, false, nil
	}
	b, ok, err := e.r.SymptomOnset(ctx, sc.Symptom.series(), query.Range(sc.Window), baseline)
	return b * analysis.BucketNanos, ok, err
}

// faultStart dates the fault and says how. A change that rank 1 points at
// dates it exactly. Without one, it is estimated from the data: the onset
// of the symptom in the window against the baseline, or, when the baseline
// is empty or no onset shows, the fallback (an incident's earliest anomaly
// start). Only when neither exists is it unknown.
func faultStart(res analysis.Result, onset int64, hasOnset bool, fallback int64) (int64, string) {
	switch {
	case res.FaultStartedUnixNano != 0:
		return res.FaultStartedUnixNano, events.FaultStartChange
	case hasOnset:
		return onset, events.FaultStartSymptomOnset
	case fallback > 0:
		return fallback, events.FaultStartSymptomOnset
	default:
		return 0, events.FaultStartUnknown
	}
}
