package notify

import (
	"fmt"
	"strings"

	"github.com/medic-sre/medic/pkg/events"
)

// byHand is what a page asks a person to do.
const byHand = "investigate and remediate by hand"

// escalationReasons names each escalation reason for people, and what to
// do beyond remediating by hand.
var escalationReasons = map[string]struct{ label, next string }{
	events.EscalationNoRunbook:     {"no runbook matches the cause", "; add a runbook if this cause recurs"},
	events.EscalationLowConfidence: {"analysis confidence too low to act", ""},
	events.EscalationTiedCauses:    {"top causes tied", ""},
	events.EscalationThinBaseline:  {"too little baseline data to trust the analysis", ""},
	events.EscalationLowMargin:     {"top cause not clearly ahead of the next", ""},
}

// failed pages: a runbook ran and did not fix the incident, which stays
// open.
func failed(r events.Remediation) Payload {
	why := r.Error
	if why == "" {
		why = "no reason given"
	}
	p := Payload{Version: PayloadVersion, About: About(events.TypeRemediationFailed), Urgency: UrgencyPage,
		IncidentID: r.IncidentID, Status: "open", CauseID: r.CauseID, Runbook: r.Runbook, Detail: r.Error,
		Remediation: &events.RemediationSummary{ExecutionID: r.ExecutionID, Runbook: r.Runbook, Outcome: "failed", Detail: r.Error}}
	run := "runbook " + r.Runbook
	if r.DryRun {
		run += " (dry run)"
	}
	if r.CauseID != "" {
		run += " for cause " + r.CauseID
	}
	p.Summary = fmt.Sprintf("[PAGE] Remediation failed on incident %s: %s: %s; the incident is still open — %s",
		r.IncidentID, run, why, byHand)
	return p
}

// escalated pages: the remediator did not act and says why.
func escalated(e events.RemediationEscalated) Payload {
	p := Payload{Version: PayloadVersion, About: About(events.TypeRemediationEscalated), Urgency: UrgencyPage,
		IncidentID: e.IncidentID, Status: "open", TopCause: e.Cause, Reason: e.Reason, Detail: e.Detail, Runbook: e.Runbook}
	if e.Confidence != 0 || e.Reason == events.EscalationLowConfidence {
		c := e.Confidence
		p.Confidence = &c
	}
	reason, ok := escalationReasons[e.Reason]
	if !ok {
		reason.label = strings.ReplaceAll(e.Reason, "_", " ")
	}
	parts := []string{fmt.Sprintf("[PAGE] Medic did not act on incident %s (%s): %s", e.IncidentID, reason.label, e.Detail)}
	if c := e.Cause; c != nil {
		p.CauseID = c.ID
		if !strings.Contains(e.Detail, c.ID) {
			parts[0] += fmt.Sprintf(" for cause %s:%s", c.Kind, c.ID)
		}
	}
	if e.Runbook != "" {
		parts = append(parts, "runbook "+e.Runbook+" was not run")
	}
	p.Summary = strings.Join(parts, "; ") + " — " + byHand + reason.next
	return p
}
