package incident

import (
	"fmt"

	"github.com/medic-sre/medic/pkg/events"
)

// severityRank orders severities; an unknown one ranks below info.
var severityRank = map[string]int{events.SeverityInfo: 1, events.SeverityWarning: 2, events.SeverityCritical: 3}

// Redelivered handles an anomaly.detected whose anomaly the incident already
// holds: nothing changes, but if that event opened the incident, or joined
// it while open, its incident.opened or incident.updated is published again
// (with the same derived id) in case the first publish was lost.
func (s *State) Redelivered(eventID string) Result {
	if eventID == s.OpenedBy {
		return Result{Emit: []events.Data{s.Opened()}}
	}
	if s.Resolved() {
		// An update asks for an analysis, which a resolved incident no
		// longer needs.
		return Result{}
	}
	for _, a := range s.Anomalies {
		if a.JoinedBy == eventID {
			return Result{Emit: []events.Data{s.updated(a)}}
		}
	}
	return Result{}
}

// AddAnomaly lets an anomaly of the incident's group join it. The incident
// takes the highest severity and the earliest start of its anomalies, and
// the earliest symptom onset as its fault start while no change explains
// it. Joining an incident that is not resolved publishes incident.updated,
// so that the new symptom is analysed (and remediated) in turn.
func (s *State) AddAnomaly(a events.AnomalyDetected, eventID string, nowUnixNano int64) Result {
	if s.Has(a.AnomalyID) {
		return s.Redelivered(eventID)
	}
	joined := anomaly(a)
	joined.JoinedUnixNano, joined.JoinedBy = nowUnixNano, eventID
	s.Anomalies = append(s.Anomalies, joined)
	if severityRank[a.Severity] > severityRank[s.Severity] {
		s.Severity = a.Severity
	}
	if a.StartedUnixNano > 0 && (s.StartedUnixNano == 0 || a.StartedUnixNano < s.StartedUnixNano) {
		s.StartedUnixNano = a.StartedUnixNano
	}
	s.proposeFaultStart(a.StartedUnixNano, events.FaultStartSymptomOnset)
	if s.Resolved() {
		return s.changed()
	}
	return s.changed(s.updated(joined))
}

// updated is the incident.updated event of an anomaly's joining, with the
// incident as it is now.
func (s *State) updated(a Anomaly) events.IncidentUpdated {
	return events.IncidentUpdated{IncidentOpened: s.Opened(), AddedAnomalyIDs: []string{a.AnomalyID}, UpdatedUnixNano: a.JoinedUnixNano}
}

// ResolveAnomaly marks an anomaly cleared. When it was the last one, the
// incident resolves at the latest clearing time and incident.resolved is
// published.
func (s *State) ResolveAnomaly(r events.AnomalyResolved, eventID string) (Result, error) {
	i := s.find(r.AnomalyID)
	if i < 0 {
		return Result{}, fmt.Errorf("incident %s, anomaly %s: %w", s.ID, r.AnomalyID, ErrUnknownAnomaly)
	}
	if s.Anomalies[i].ResolvedUnixNano > 0 {
		if eventID == s.ResolvedBy {
			return Result{Emit: []events.Data{s.resolvedEvent()}}, nil
		}
		return Result{}, nil
	}
	s.Anomalies[i].ResolvedUnixNano = max(r.ResolvedUnixNano, 1)
	latest := int64(0)
	for _, a := range s.Anomalies {
		if a.ResolvedUnixNano == 0 {
			return s.changed(), nil
		}
		latest = max(latest, a.ResolvedUnixNano)
	}
	s.ResolvedUnixNano, s.ResolvedBy = latest, eventID
	return s.changed(s.resolvedEvent()), nil
}

func (s *State) resolvedEvent() events.IncidentTransition {
	return s.transition(events.StatusResolved, "every anomaly cleared", s.ResolvedUnixNano)
}

// ApplyRCA records the top-ranked cause of the newest analysis (an older
// one delivered late changes nothing) and, when the analysis found one, the
// fault start: a change beats an estimate, and the earliest of a kind wins.
// No event is published.
func (s *State) ApplyRCA(r events.RCACompleted) Result {
	changed := false
	if len(r.Causes) > 0 && r.AnalyzedUnixNano >= s.TopCauseAnalyzedUnixNano &&
		(s.TopCause == nil || !sameCause(*s.TopCause, r.Causes[0])) {
		top := r.Causes[0]
		s.TopCause, s.TopCauseAnalyzedUnixNano, changed = &top, r.AnalyzedUnixNano, true
	}
	if s.proposeFaultStart(r.FaultStartedUnixNano, rcaFaultStartSource(r)) {
		changed = true
	}
	if !changed {
		return Result{}
	}
	return s.changed()
}

func sameCause(a, b events.Cause) bool {
	return a.Kind == b.Kind && a.ID == b.ID && a.Rank == b.Rank && a.Score == b.Score
}
