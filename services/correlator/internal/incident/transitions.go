package incident

import (
	"fmt"

	"github.com/medic-sre/medic/pkg/events"
)

// severityRank orders severities; an unknown one ranks below info.
var severityRank = map[string]int{events.SeverityInfo: 1, events.SeverityWarning: 2, events.SeverityCritical: 3}

// Redelivered handles an anomaly.detected whose anomaly the incident already
// holds: nothing changes, but the event that opened the incident gets its
// incident.opened published again, in case the first publish was lost.
func (s *State) Redelivered(eventID string) Result {
	if eventID == s.OpenedBy {
		return Result{Emit: []events.Data{s.Opened()}}
	}
	return Result{}
}

// AddAnomaly lets an anomaly of the incident's group join it. The incident
// takes the highest severity and the earliest start of its anomalies; no
// event is published.
func (s *State) AddAnomaly(a events.AnomalyDetected, eventID string) Result {
	if s.Has(a.AnomalyID) {
		return s.Redelivered(eventID)
	}
	s.Anomalies = append(s.Anomalies, anomaly(a))
	if severityRank[a.Severity] > severityRank[s.Severity] {
		s.Severity = a.Severity
	}
	if a.StartedUnixNano > 0 && (s.StartedUnixNano == 0 || a.StartedUnixNano < s.StartedUnixNano) {
		s.StartedUnixNano = a.StartedUnixNano
	}
	return s.changed()
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

func (s *State) resolvedEvent() events.IncidentResolved {
	return events.IncidentResolved{IncidentTransition: s.transition("every anomaly cleared", s.ResolvedUnixNano)}
}

// ApplyRCA records the top-ranked cause and, when the analysis found it, the
// time the fault started. No event is published.
func (s *State) ApplyRCA(r events.RCACompleted) Result {
	changed := false
	if len(r.Causes) > 0 && (s.TopCause == nil || !sameCause(*s.TopCause, r.Causes[0])) {
		top := r.Causes[0]
		s.TopCause, changed = &top, true
	}
	if r.FaultStartedUnixNano > 0 && r.FaultStartedUnixNano != s.FaultStartedUnixNano {
		s.FaultStartedUnixNano, changed = r.FaultStartedUnixNano, true
	}
	if !changed {
		return Result{}
	}
	return s.changed()
}

func sameCause(a, b events.Cause) bool {
	return a.Kind == b.Kind && a.ID == b.ID && a.Rank == b.Rank && a.Score == b.Score
}
