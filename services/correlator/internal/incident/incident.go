// Package incident is the incident lifecycle as a pure state machine: it
// opens an incident from a first anomaly, lets later anomalies join it,
// records root causes and remediations, and resolves the incident when all
// its anomalies have cleared. It does no I/O; each step returns whether the
// state changed and which events to publish, and the caller makes that
// durable.
package incident

import (
	"errors"

	"github.com/medic-sre/medic/pkg/events"
)

// Statuses, in the order an incident moves through them.
const (
	StatusOpen         = "open"
	StatusAcknowledged = "acknowledged"
	StatusMitigated    = "mitigated"
	StatusResolved     = "resolved"
)

// ErrUnknownAnomaly means an anomaly.resolved named an anomaly that is not
// part of the incident.
var ErrUnknownAnomaly = errors.New("anomaly is not part of the incident")

// Anomaly is one anomaly of an incident and, once it cleared, when.
type Anomaly struct {
	events.AnomalyRef
	Severity         string `json:"severity"`
	ResolvedUnixNano int64  `json:"resolved_unix_nano,omitempty"`
	// JoinedUnixNano and JoinedBy are when and by which anomaly.detected
	// event the anomaly joined an incident that was already open (both
	// empty for the anomaly that opened it), so that a redelivery of that
	// event publishes its incident.updated again.
	JoinedUnixNano int64  `json:"joined_unix_nano,omitempty"`
	JoinedBy       string `json:"joined_by,omitempty"`
}

// State is everything the correlator remembers about one incident. Times
// are unix nanoseconds, 0 while unknown.
type State struct {
	ID                   string `json:"id"`
	GroupKey             string `json:"group_key"`
	Title                string `json:"title"`
	Severity             string `json:"severity"`
	Service              string `json:"service,omitempty"`
	Model                string `json:"model,omitempty"`
	Version              uint64 `json:"version"`
	StartedUnixNano      int64  `json:"started_unix_nano"`
	FaultStartedUnixNano int64  `json:"fault_started_unix_nano,omitempty"`
	// FaultStartSource says how FaultStartedUnixNano was found (one of
	// events.FaultStartChange, FaultStartSymptomOnset, FaultStartUnknown).
	// State saved before sources were recorded has none; see FaultStart.
	FaultStartSource     string        `json:"fault_start_source,omitempty"`
	DetectedUnixNano     int64         `json:"detected_unix_nano"`
	OpenedUnixNano       int64         `json:"opened_unix_nano"`
	AcknowledgedUnixNano int64         `json:"acknowledged_unix_nano,omitempty"`
	MitigatedUnixNano    int64         `json:"mitigated_unix_nano,omitempty"`
	ResolvedUnixNano     int64         `json:"resolved_unix_nano,omitempty"`
	Anomalies            []Anomaly     `json:"anomalies"`
	TopCause             *events.Cause `json:"top_cause,omitempty"`
	// TopCauseAnalyzedUnixNano is when the analysis that named TopCause
	// ran, so that an older analysis delivered late does not replace it.
	TopCauseAnalyzedUnixNano int64 `json:"top_cause_analyzed_unix_nano,omitempty"`
	// AcknowledgedBy is who took the incident: "remediation:<execution id>"
	// for a remediation that succeeded, or a person.
	AcknowledgedBy string                     `json:"acknowledged_by,omitempty"`
	Remediation    *events.RemediationSummary `json:"remediation,omitempty"`
	// The ids of the input events that caused each transition: when one of
	// them is redelivered, its output is published again (with the same
	// derived id) in case the first publish was lost.
	OpenedBy          string `json:"opened_by"`
	AcknowledgedEvent string `json:"acknowledged_event,omitempty"`
	MitigatedBy       string `json:"mitigated_by,omitempty"`
	ResolvedBy        string `json:"resolved_by,omitempty"`
}

// Result is the outcome of one step: whether the state changed (so the
// incidents row and the stored state must be written) and what to publish.
type Result struct {
	Changed bool
	Emit    []events.Data
}

// Open starts an incident from the anomaly that no open incident of its
// group holds. eventID is the anomaly.detected event's id.
func Open(id, groupKey string, a events.AnomalyDetected, eventID string, nowUnixNano int64) (*State, Result) {
	title := a.Rule
	if a.Summary != "" {
		title = a.Rule + ": " + a.Summary
	}
	s := &State{
		ID: id, GroupKey: groupKey, Title: title, Severity: a.Severity, Service: a.Service, Model: a.Model,
		Version: 1, StartedUnixNano: a.StartedUnixNano, DetectedUnixNano: a.DetectedUnixNano,
		OpenedUnixNano: nowUnixNano, Anomalies: []Anomaly{anomaly(a)}, OpenedBy: eventID,
	}
	// Until an analysis names a change, the fault started when the first
	// symptom's data began to breach.
	s.proposeFaultStart(a.StartedUnixNano, events.FaultStartSymptomOnset)
	return s, Result{Changed: true, Emit: []events.Data{s.Opened()}}
}

func anomaly(a events.AnomalyDetected) Anomaly {
	return Anomaly{Severity: a.Severity, AnomalyRef: events.AnomalyRef{
		AnomalyID: a.AnomalyID, Rule: a.Rule, Metric: a.Metric, Value: a.Value,
		StartedUnixNano: a.StartedUnixNano, DetectedUnixNano: a.DetectedUnixNano,
		Service: a.Service, Model: a.Model, ModelVersion: a.ModelVersion,
	}}
}

// Opened is the incident.opened event of the incident as it is now.
func (s *State) Opened() events.IncidentOpened {
	refs := make([]events.AnomalyRef, len(s.Anomalies))
	for i, a := range s.Anomalies {
		refs[i] = a.AnomalyRef
	}
	return events.IncidentOpened{
		IncidentID: s.ID, GroupKey: s.GroupKey, Title: s.Title, Severity: s.Severity,
		Service: s.Service, Model: s.Model, StartedUnixNano: s.StartedUnixNano,
		DetectedUnixNano: s.DetectedUnixNano, OpenedUnixNano: s.OpenedUnixNano, Anomalies: refs,
	}
}

// Status is the furthest status the incident reached.
func (s *State) Status() string {
	switch {
	case s.ResolvedUnixNano > 0:
		return StatusResolved
	case s.MitigatedUnixNano > 0:
		return StatusMitigated
	case s.AcknowledgedUnixNano > 0:
		return StatusAcknowledged
	}
	return StatusOpen
}

// Resolved reports whether every anomaly of the incident cleared.
func (s *State) Resolved() bool { return s.ResolvedUnixNano > 0 }

// Has reports whether the anomaly is part of the incident.
func (s *State) Has(anomalyID string) bool { return s.find(anomalyID) >= 0 }

func (s *State) find(anomalyID string) int {
	for i, a := range s.Anomalies {
		if a.AnomalyID == anomalyID {
			return i
		}
	}
	return -1
}

// transition is the incident's move to status, with its times and findings
// so far, as carried by incident.acknowledged, mitigated and resolved.
func (s *State) transition(status, reason string, at int64) events.IncidentTransition {
	faultStart, source := s.FaultStart()
	return events.IncidentTransition{
		Status: status, IncidentID: s.ID, GroupKey: s.GroupKey, Title: s.Title, AtUnixNano: at, Reason: reason,
		FaultStartedUnixNano: faultStart, DetectedUnixNano: s.DetectedUnixNano,
		AcknowledgedUnixNano: s.AcknowledgedUnixNano, MitigatedUnixNano: s.MitigatedUnixNano,
		ResolvedUnixNano: s.ResolvedUnixNano, TopCause: s.TopCause, Remediation: s.remediationSummary(),
		Firing: s.Firing(), FaultStartSource: source, AcknowledgedBy: s.AcknowledgedBy,
	}
}

// Firing lists the anomalies that have not cleared yet, nil when none.
func (s *State) Firing() []events.AnomalyRef {
	var refs []events.AnomalyRef
	for _, a := range s.Anomalies {
		if a.ResolvedUnixNano == 0 {
			refs = append(refs, a.AnomalyRef)
		}
	}
	return refs
}

// changed bumps the version, which orders the incidents rows of one incident.
func (s *State) changed(emit ...events.Data) Result {
	s.Version++
	return Result{Changed: true, Emit: emit}
}
