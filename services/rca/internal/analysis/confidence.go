package analysis

import (
	"math"

	"github.com/medic-sre/medic/pkg/events"
)

// TieEpsilon is the relative difference under which two scores count as
// equal: scores are sums and products of float64 measures, so two causes
// with the same evidence may differ in their last bits.
const TieEpsilon = 1e-6

// SameScore reports whether scores a and b are equal within TieEpsilon of
// the larger.
func SameScore(a, b float64) bool {
	return math.Abs(a-b) <= TieEpsilon*math.Max(math.Abs(a), math.Abs(b))
}

// Parts of the confidence formula; see Confidence.
const (
	// FullMargin is the margin of rank 1 over its best rival that earns full
	// credit: rank 1 scoring at least twice its rival.
	FullMargin = 0.5
	// ThinBaselineFactor scales the confidence of an analysis whose
	// baseline lacks data, so that it stays well under any sensible gate
	// for automatic action (at most 0.25).
	ThinBaselineFactor = 0.25
)

// Confidence says how sure an analysis is of its rank-1 cause, from 0 (no
// basis to act on) to 1. With s1 the score of rank 1 and s2 the best score
// of its rivals, it is
//
//	confidence = strength × margin × baseline
//	strength   = min(1, s1)
//	margin     = min(1, ((s1 - s2) / s1) / FullMargin), 0 on a tie, 1 with no rival
//	baseline   = 1 when the baseline is sufficient, else ThinBaselineFactor
//
// Strength is how much of the symptom rank 1 accounts for (its correlation
// times the share of the excess it explains, times its kind's weight and a
// boost for a nearby change). Margin is how clearly it beats the next best
// explanation. A rival is any cause below rank 1 that does not point at the
// same change as rank 1: the deploy of a bad version, the version itself and
// the service that serves it are one explanation seen at three levels, and
// acting on one acts on all, so they do not compete; nor do a log
// template, an operation or a feature and the service that wrote, ran or
// served it. all must be ranked and sorted best first.
func Confidence(all []scored, baselineSufficient bool) float64 {
	if len(all) == 0 || all[0].cause.Score <= 0 {
		return 0
	}
	s1 := all[0].cause.Score
	margin := 1.0
	for _, s := range all[1:] {
		if s.cause.Rank == 1 {
			margin = 0 // a tie: nothing singles rank 1 out
			break
		}
		if sameChange(all[0], s) || templateOfService(all[0], s) {
			continue
		}
		margin = math.Min(1, (s1-s.cause.Score)/s1/FullMargin)
		break
	}
	c := math.Min(1, s1) * margin
	if !baselineSufficient {
		c *= ThinBaselineFactor
	}
	return clamp01(c)
}

// templateOfService reports whether one of a and b is a log template, an
// operation or a feature and the other the service that wrote, ran or
// served it: the two rank by the same lines, spans or values, so they are
// one explanation, not rivals.
func templateOfService(a, b scored) bool {
	if a.cause.Kind == events.CauseService {
		a, b = b, a
	}
	switch a.cause.Kind {
	case events.CauseLogTemplate, events.CauseOperation, events.CauseFeature:
		return b.cause.Kind == events.CauseService && a.cause.Service == b.cause.Service
	}
	return false
}

// sameChange reports whether a and b point at the same change: one is the
// change the other is nearest to, or both are nearest to it.
func sameChange(a, b scored) bool {
	return a.change != nil && b.change != nil && a.change.ID == b.change.ID
}
