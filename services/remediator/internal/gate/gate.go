// Package gate decides whether an analysis is sure enough to act on. It is
// pure: the remediator asks it, and escalates the incident to people
// whenever it says no.
package gate

import (
	"fmt"
	"strconv"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/remediator/internal/runbook"
)

// Defaults of the remediator's --min-confidence and --min-margin.
const (
	DefaultMinConfidence = 0.6
	DefaultMinMargin     = 0.2
)

// Thresholds are the least confidence, and the least relative margin of
// rank 1 over rank 2, that the remediator acts on.
type Thresholds struct {
	MinConfidence float64
	MinMargin     float64
}

// For returns t with rb's overrides (match.min_confidence, match.min_margin)
// applied.
func (t Thresholds) For(rb *runbook.Runbook) Thresholds {
	if rb == nil {
		return t
	}
	if v := rb.Match.MinConfidence; v != nil {
		t.MinConfidence = *v
	}
	if v := rb.Match.MinMargin; v != nil {
		t.MinMargin = *v
	}
	return t
}

// Decision is the gate's answer: act, or escalate for Reason (one of the
// events.Escalation* reasons) with a one-line Detail.
type Decision struct {
	Act    bool
	Reason string
	Detail string
}

// Check decides on the analysis rca whose rank-1 cause is top; rb is the
// runbook that fits top, nil when none does. The checks run in this order,
// the first that fails deciding: no cause at all (no_runbook), rank 1 tied, thin baseline, no runbook,
// confidence below the minimum, margin below the minimum.
func Check(rca events.RCACompleted, top events.Cause, rb *runbook.Runbook, t Thresholds) Decision {
	t = t.For(rb)
	switch {
	case len(rca.Causes) == 0:
		return escalate(events.EscalationNoRunbook, "the analysis names no cause to act on")
	case Tied(rca, top):
		return escalate(events.EscalationTiedCauses, tieDetail(rca.Causes, top))
	case !rca.Baseline.Sufficient:
		return escalate(events.EscalationThinBaseline, thinDetail(rca.Baseline))
	case rb == nil:
		return escalate(events.EscalationNoRunbook, fmt.Sprintf("no runbook fits the rank-1 cause %s %s", top.Kind, top.ID))
	case rca.Confidence < t.MinConfidence:
		return escalate(events.EscalationLowConfidence, fmt.Sprintf("confidence %s is below %s for runbook %s (cause %s)",
			short(rca.Confidence), short(t.MinConfidence), rb.Name, top.ID))
	}
	if m, second, ok := Margin(rca.Causes, top); ok && m < t.MinMargin {
		return escalate(events.EscalationLowMargin, fmt.Sprintf("rank 1 %s (score %s) leads rank 2 %s (score %s) by %s, below %s for runbook %s",
			top.ID, short(top.Score), second.ID, short(second.Score), short(m), short(t.MinMargin), rb.Name))
	}
	return Decision{Act: true}
}

// Tied reports whether rank 1 is shared: the analysis says so, or another
// cause carries top's rank.
func Tied(rca events.RCACompleted, top events.Cause) bool {
	return rca.Tie || sharing(rca.Causes, top) > 1
}

func sharing(causes []events.Cause, top events.Cause) int {
	n := 0
	for _, c := range causes {
		if c.Rank == top.Rank {
			n++
		}
	}
	return max(n, 1)
}

// Margin is rank 1's relative lead over the best other cause:
// (score1 - score2) / score1, clamped to [0, 1]; 0 when score1 is not
// positive. ok is false when there is no other cause (nothing to lead).
// A cause that points at the same change as rank 1 (the deploy, the
// version it deployed, the service serving it) is the same explanation,
// not a rival, as in the RCA's confidence.
func Margin(causes []events.Cause, top events.Cause) (margin float64, second events.Cause, ok bool) {
	found := false
	for _, c := range causes {
		if c.Rank == top.Rank && c.ID == top.ID && c.Kind == top.Kind {
			continue
		}
		if top.ChangeID != "" && c.ChangeID == top.ChangeID {
			continue
		}
		if !found || c.Score > second.Score {
			second, found = c, true
		}
	}
	if !found {
		return 1, events.Cause{}, false
	}
	if top.Score <= 0 {
		return 0, second, true
	}
	return min(max((top.Score-second.Score)/top.Score, 0), 1), second, true
}

func tieDetail(causes []events.Cause, top events.Cause) string {
	if n := sharing(causes, top); n > 1 {
		return fmt.Sprintf("rank 1 is shared by %d causes (%s and others, score %s); no single cause to act on", n, top.ID, short(top.Score))
	}
	return fmt.Sprintf("the analysis reports rank 1 tied (%s, score %s); no single cause to act on", top.ID, short(top.Score))
}

func thinDetail(b events.Baseline) string {
	d := fmt.Sprintf("baseline too thin to compare against: %s points over %ss", strconv.FormatInt(b.Points, 10), short(b.Seconds))
	if b.Detail != "" {
		d += " (" + b.Detail + ")"
	}
	return d
}

func escalate(reason, detail string) Decision { return Decision{Reason: reason, Detail: detail} }

// short formats a number in at most three significant digits: 0.55, 120.
func short(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }
