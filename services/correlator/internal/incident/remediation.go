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
)

// ApplyRemediation records a remediation.started, succeeded or failed
// (eventType). A start (or a success whose start was missed) acknowledges
// the incident and a success mitigates it, each once, publishing
// incident.acknowledged or incident.mitigated; a failure is only recorded,
// and so is any event of a dry run, which changed nothing in the system.
// nowUnixNano stands in for a time the remediation did not report.
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
	var emit []events.Data
	if outcome == OutcomeFailed || outcome == OutcomeDryRun {
		// Neither acknowledges nor mitigates: the incident stays open for a
		// person or another runbook.
		return s.result(changed, emit), nil
	}
	if s.AcknowledgedUnixNano == 0 {
		s.AcknowledgedUnixNano, s.AcknowledgedBy, changed = orNow(rem.StartedUnixNano, nowUnixNano), eventID, true
		emit = append(emit, s.acknowledgedEvent())
	} else if s.AcknowledgedBy == eventID {
		emit = append(emit, s.acknowledgedEvent())
	}
	if outcome == OutcomeSucceeded {
		if s.MitigatedUnixNano == 0 {
			s.MitigatedUnixNano, s.MitigatedBy, changed = orNow(rem.FinishedUnixNano, nowUnixNano), eventID, true
			emit = append(emit, s.mitigatedEvent())
		} else if s.MitigatedBy == eventID {
			emit = append(emit, s.mitigatedEvent())
		}
	}
	return s.result(changed, emit), nil
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

func (s *State) acknowledgedEvent() events.IncidentAcknowledged {
	return events.IncidentAcknowledged{IncidentTransition: s.transition("remediation started", s.AcknowledgedUnixNano)}
}

func (s *State) mitigatedEvent() events.IncidentMitigated {
	return events.IncidentMitigated{IncidentTransition: s.transition("remediation succeeded", s.MitigatedUnixNano)}
}
