package analysis

import (
	"math"

	"github.com/medic-sre/medic/pkg/events"
)

// ScoreParts are the factors whose product is a ranked cause's score, read
// back from its evidence, so that a reader sees why it scored what it did.
// For a candidate:
//
//	score = corr⁺ × explained × weight × specificity × change_boost
//
// with corr⁺ = max(corr, 0) and change_boost = 1 + 0.5 × proximity, all of
// its best signal. For a change:
//
//	score = proximity × touched_score × change_factor
func ScoreParts(c events.Cause) map[string]float64 {
	ev := c.Evidence
	if c.Kind == events.CauseChange {
		return map[string]float64{"proximity": ev["proximity"], "touched_score": ev["touched_score"], "change_factor": changeFactor}
	}
	return map[string]float64{"corr": math.Max(ev["corr"], 0), "explained": ev["explained"], "weight": ev["weight"],
		"specificity": ev["specificity"], "change_boost": 1 + 0.5*ev["proximity"]}
}
