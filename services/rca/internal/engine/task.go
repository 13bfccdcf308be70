package engine

import (
	"fmt"
	"slices"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/metricexpr"
)

// Task is one analysis to run: what asked for it, and the anomalies whose
// symptoms it explains.
type Task struct {
	// AnalysisID names the analysis; see AnalysisID.
	AnalysisID string
	// Trigger is events.TriggerOpened or events.TriggerUpdated.
	Trigger    string
	IncidentID string
	// Anomalies are the anomalies analysed. The first with a metric and a
	// service is the symptom; all of them are listed in the result.
	Anomalies []events.AnomalyRef
	// Model is the incident's model, for anomalies that name none.
	Model string
	// StartUnixNano is when the symptom started, when the trigger says so
	// (an incident's start); 0 takes the symptom anomaly's own start.
	StartUnixNano int64
	// AtUnixNano is when the trigger happened: the incident's detection,
	// or the update. It stands in for a start that nothing else gives.
	AtUnixNano int64
}

// AnalysisID is the id of the analysis a trigger event asks for: a
// redelivered trigger yields the same id, and each trigger its own.
func AnalysisID(triggerEventID string) string { return events.DerivedID("analysis", triggerEventID) }

// OpenedTask analyses an opened incident's anomalies, from its start.
func OpenedTask(triggerEventID string, inc events.IncidentOpened) Task {
	return Task{AnalysisID: AnalysisID(triggerEventID), Trigger: events.TriggerOpened, IncidentID: inc.IncidentID,
		Anomalies: inc.Anomalies, Model: inc.Model, StartUnixNano: inc.StartedUnixNano, AtUnixNano: inc.DetectedUnixNano}
}

// UpdatedTask analyses the anomalies that joined an incident, from their
// own start: the incident's start is that of its first symptom, which may
// have a cause of its own. Added ids the update does not list are skipped.
func UpdatedTask(triggerEventID string, up events.IncidentUpdated) Task {
	t := Task{AnalysisID: AnalysisID(triggerEventID), Trigger: events.TriggerUpdated, IncidentID: up.IncidentID,
		Model: up.Model, AtUnixNano: up.UpdatedUnixNano}
	for _, a := range up.Anomalies {
		if slices.Contains(up.AddedAnomalyIDs, a.AnomalyID) {
			t.Anomalies = append(t.Anomalies, a)
		}
	}
	return t
}

// AnomalyIDs are the ids of the task's anomalies.
func (t Task) AnomalyIDs() []string {
	ids := make([]string, 0, len(t.Anomalies))
	for _, a := range t.Anomalies {
		ids = append(ids, a.AnomalyID)
	}
	return ids
}

// earliestStart is the earliest start of the task's anomalies, 0 when none
// says when it started.
func (t Task) earliestStart() int64 {
	var first int64
	for _, a := range t.Anomalies {
		if a.StartedUnixNano > 0 && (first == 0 || a.StartedUnixNano < first) {
			first = a.StartedUnixNano
		}
	}
	return first
}

// SymptomOf is the task's symptom: its first anomaly with a metric and a
// service, started when the task says, else when the anomaly did. A metric
// that is no expression (see package metricexpr) is ErrBadSymptom.
func SymptomOf(t Task) (Symptom, error) {
	i := slices.IndexFunc(t.Anomalies, func(a events.AnomalyRef) bool { return a.Metric != "" && a.Service != "" })
	if i < 0 {
		return Symptom{}, ErrNoSymptom
	}
	a := t.Anomalies[i]
	expr, err := metricexpr.Parse(a.Metric)
	if err != nil {
		return Symptom{}, fmt.Errorf("%w: anomaly %s: %w", ErrBadSymptom, a.AnomalyID, err)
	}
	s := Symptom{Metric: a.Metric, Expr: expr, Service: a.Service, Model: a.Model, StartUnixNano: t.StartUnixNano}
	if s.Model == "" {
		s.Model = t.Model
	}
	if s.StartUnixNano == 0 {
		s.StartUnixNano = a.StartedUnixNano
	}
	if s.StartUnixNano == 0 {
		s.StartUnixNano = max(a.DetectedUnixNano, t.AtUnixNano)
	}
	return s, nil
}
