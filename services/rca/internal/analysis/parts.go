package analysis

import (
	"math"

	"github.com/medic-sre/medic/pkg/events"
)

// ScoreParts are the factors whose product is a ranked cause's score, read
// back from its evidence, so that a reader sees why it scored what it did.
// For a candidate:
//
//	score = corr⁺ × explained × weight × specificity × change_boost × graph × precedence
//
// with corr⁺ = max(corr, 0) and change_boost = 1 + 0.5 × proximity, all of
// its best signal, and graph the service's share of the walk over the call
// graph relative to the best service's (1 without a call graph; see
// weighByGraph), and precedence 0.8 when its anomaly began more than one
// bucket after the symptom's, else 1 (see precedence). corr is the better of
// the aligned correlation and the one with the candidate leading by up to
// MaxLag buckets (evidence lag_buckets); for a gauge scored by its
// departure from its baseline (evidence departed), it is that departure's
// strength (see departure), and a gauge's explained is scaled by the share
// of the window it reported in (evidence window_coverage). For a change:
//
//	score = proximity × touched_score × change_factor
func ScoreParts(c events.Cause) map[string]float64 {
	ev := c.Evidence
	if c.Kind == events.CauseChange {
		return map[string]float64{"proximity": ev["proximity"], "touched_score": ev["touched_score"], "change_factor": changeFactor}
	}
	return map[string]float64{"corr": math.Max(ev["corr"], 0), "explained": ev["explained"], "weight": ev["weight"],
		"specificity": ev["specificity"], "change_boost": 1 + 0.5*ev["proximity"], "graph": graphFactor(ev),
		"precedence": precedenceFactor(ev)}
}

// precedenceFactor is the cause's temporal precedence part, 1 when none was
// measured.
func precedenceFactor(ev map[string]float64) float64 {
	if p, ok := ev["precedence"]; ok {
		return p
	}
	return 1
}

// graphFactor is the cause's graph part, 1 when no call graph weighed it.
func graphFactor(ev map[string]float64) float64 {
	if g, ok := ev["graph"]; ok {
		return g
	}
	return 1
}
