package incident

import (
	"fmt"

	"github.com/medic-sre/medic/pkg/events"
)

// Remediation outcomes, as carried in an incident's remediation summary.
const (
	OutcomeStarted   = "started"
	OutcomeSucceeded = "succeeded"
	OutcomeFailed    = "failed"
	// OutcomeDryRun is any event of a remediation run with --dry-run, which
	// acted on nothing.
	OutcomeDryRun = "dry_run"
	// OutcomeEscalated is a remediation.escalated: the remediator did not
	// act and handed the incident to people.
	OutcomeEscalated = "escalated"
)

// AcknowledgedByRemediation is the AcknowledgedBy of an incident that a
// successful remediation took: "remediation:<execution id>".
func AcknowledgedByRemediation(executionID string) string { return "remediation:" + executionID }

// ApplyRemediation records a remediation.started, succeeded or failed
// (eventType). Only a success acknowledges the incident (at the execution's
// start, by "remediation:<execution id>") and mitigates it (at its finish),
// each once, publishing incident.acknowledged then incident.mitigated. A
// start is no acknowledgement, since the action may yet fail; a start, a
// failure and any event of a dry run (which changed nothing in the system)
// are only recorded. nowUnixNano stands in for a time the remediation did
// not report.
func (s *State) ApplyRemediation(eventType string, rem events.Remediation, eventID string, nowUnixNano int64) (Result, error) {
	outcome, ok := map[string]string{
		events.TypeRemediationStarted:   OutcomeStarted,
		events.TypeRemediationSucceeded: OutcomeSucceeded,
		events.TypeRemediationFailed:    OutcomeFailed,
	}[eventType]
	if !ok {
		return Result{}, fmt.Errorf("%s is not a remediation event", eventType)
	}
	if rem.DryRun {
		outcome = OutcomeDryRun
	}
	changed := s.summarize(rem, outcome)
	if outcome != OutcomeSucceeded {
		// The incident stays as it was: open for a person or another
		// runbook, whose success acknowledges it.
		return s.result(changed, nil), nil
	}
	var emit []events.Data
	if s.AcknowledgedUnixNano == 0 {
		s.AcknowledgedUnixNano, s.AcknowledgedEvent = orNow(rem.StartedUnixNano, nowUnixNano), eventID
		s.AcknowledgedBy, changed = AcknowledgedByRemediation(rem.ExecutionID), true
		emit = append(emit, s.acknowledgedEvent())
	} else if s.AcknowledgedEvent == eventID {
		emit = append(emit, s.acknowledgedEvent())
	}
	if s.MitigatedUnixNano == 0 {
		s.MitigatedUnixNano, s.MitigatedBy, changed = orNow(rem.FinishedUnixNano, nowUnixNano), eventID, true
		emit = append(emit, s.mitigatedEvent())
	} else if s.MitigatedBy == eventID {
		emit = append(emit, s.mitigatedEvent())
	}
	return s.result(changed, emit), nil
}

// ApplyEscalation records that the remediator handed the incident to people
// instead of acting: the remediation summary says "escalated" with the
// reason. The incident is neither acknowledged nor mitigated, and no
// incident event is published; the escalation itself is the notice.
func (s *State) ApplyEscalation(e events.RemediationEscalated) Result {
	cur := s.Remediation
	if cur != nil && cur.ExecutionID == e.EscalationID && cur.Outcome == OutcomeEscalated {
		return Result{}
	}
	if cur != nil && (cur.Outcome == OutcomeSucceeded || cur.Outcome == OutcomeStarted) {
		// An action that ran, or runs, stays the incident's summary: a
		// later analysis that Medic did not act on must not erase it (the
		// notifier has paged about the escalation already).
		return Result{}
	}
	s.Remediation = &events.RemediationSummary{ExecutionID: e.EscalationID, Runbook: e.Runbook,
		Outcome: OutcomeEscalated, Detail: e.Reason + ": " + e.Detail}
	return s.changed()
}

func (s *State) result(changed bool, emit []events.Data) Result {
	if !changed {
		return Result{Emit: emit}
	}
	return s.changed(emit...)
}

// summarize keeps the latest execution's outcome. Within one execution the
// outcome only moves forward, so a late or redelivered "started" does not
// undo "succeeded". A dry run does not hide a real remediation, which is
// what acted on the system.
func (s *State) summarize(rem events.Remediation, outcome string) bool {
	cur := s.Remediation
	if cur != nil && cur.ExecutionID == rem.ExecutionID && (cur.Outcome == outcome || outcome == OutcomeStarted) {
		return false
	}
	if cur != nil && outcome == OutcomeDryRun && cur.Outcome != OutcomeDryRun {
		return false
	}
	s.Remediation = &events.RemediationSummary{ExecutionID: rem.ExecutionID, Runbook: rem.Runbook, Outcome: outcome, Detail: rem.Error}
	return true
}

func orNow(t, now int64) int64 {
	if t > 0 {
		return t
	}
	return now
}

// NoRunbook is the runbook an incident transition names for an escalation
// that no runbook fits (the transition schemas require one).
const NoRunbook = "none"

// remediationSummary is the summary incident transitions carry, or nil.
func (s *State) remediationSummary() *events.RemediationSummary {
	rem := s.Remediation
	switch {
	case rem == nil:
		return nil
	case rem.Outcome == OutcomeDryRun:
		// The transition schemas know no dry_run outcome, and a dry run did
		// nothing to report: it shows in the incidents table only.
		return nil
	case rem.Runbook == "":
		named := *rem
		named.Runbook = NoRunbook
		return &named
	}
	return rem
}

func (s *State) acknowledgedEvent() events.IncidentTransition {
	return s.transition(events.StatusAcknowledged, "taken by "+s.AcknowledgedBy, s.AcknowledgedUnixNano)
}

func (s *State) mitigatedEvent() events.IncidentTransition {
	return s.transition(events.StatusMitigated, "remediation succeeded", s.MitigatedUnixNano)
}
