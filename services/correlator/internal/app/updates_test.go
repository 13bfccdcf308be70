package app

import (
	"context"
	"reflect"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
)

// lastEvent is the newest event of a type on the bus, as a CloudEvent.
func lastEvent(t *testing.T, e *env, eventType string) cloudevents.Event {
	t.Helper()
	s, err := e.pub.JetStream().Stream(context.Background(), bus.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := s.GetLastMsgForSubject(context.Background(), events.Subject(eventType))
	if err != nil {
		t.Fatalf("no %s on the bus: %v", eventType, err)
	}
	ev, err := events.Decode(msg.Data)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// row is the part of an incident's newest incidents row these tests check.
type row struct {
	Status, Outcome, Detail, Runbook, Source, AcknowledgedBy string
	FaultStarted, Acknowledged, Mitigated                    int64
}

func incidentRow(t *testing.T, e *env, id string) row {
	t.Helper()
	var r row
	err := e.db.Conn().QueryRow(context.Background(), `SELECT toString(status), remediation_outcome, remediation_detail,
		runbook, fault_start_source, acknowledged_by, fault_started_unix_nano, acknowledged_unix_nano, mitigated_unix_nano
		FROM incidents FINAL WHERE incident_id = ?`, id).Scan(&r.Status, &r.Outcome, &r.Detail, &r.Runbook, &r.Source,
		&r.AcknowledgedBy, &r.FaultStarted, &r.Acknowledged, &r.Mitigated)
	if err != nil {
		t.Fatalf("incidents row of %s: %v", id, err)
	}
	return r
}

// An anomaly that joins an open incident is announced with incident.updated,
// whose id derives from the anomaly's event, so that the rca analyses it.
func TestJoiningAnomalyUpdatesIncident(t *testing.T) {
	e := newEnv(t)
	e.start(t)
	a1 := anomaly("a1", "latency_high", events.SeverityWarning, 0)
	a2 := anomaly("a2", "dependency_slow", events.SeverityCritical, 1500*time.Millisecond)
	e.emit(t, "det-a1", a1)
	e.emit(t, "det-a2", a2)
	e.waitIdle(t)

	if n, u := e.count(t, events.TypeIncidentOpened), e.count(t, events.TypeIncidentUpdated); n != 1 || u != 1 {
		t.Fatalf("%d incident.opened and %d incident.updated, want 1 and 1", n, u)
	}
	ev := lastEvent(t, e, events.TypeIncidentUpdated)
	if want := events.DerivedID(events.TypeIncidentUpdated, "det-a2"); ev.ID() != want {
		t.Fatalf("incident.updated id %s, want %s (derived from the anomaly's event)", ev.ID(), want)
	}
	upd := last[events.IncidentUpdated](t, e)
	opened := last[events.IncidentOpened](t, e)
	if upd.IncidentID != opened.IncidentID || !reflect.DeepEqual(upd.AddedAnomalyIDs, []string{"a2"}) ||
		len(upd.Anomalies) != 2 || upd.Severity != events.SeverityCritical || upd.UpdatedUnixNano <= 0 {
		t.Fatalf("incident.updated = %+v, want incident %s with a2 added (2 anomalies, critical)", upd, opened.IncidentID)
	}
}

// A remediation that starts and fails acknowledges nothing and is recorded;
// the next one that succeeds acknowledges at its own start, and its
// transitions say which anomalies still fire.
func TestOnlySuccessAcknowledges(t *testing.T) {
	e := newEnv(t)
	e.start(t)
	a1 := anomaly("a1", "latency_high", events.SeverityWarning, 0)
	a2 := anomaly("a2", "dependency_slow", events.SeverityWarning, 2*time.Second)
	e.emit(t, "det-a1", a1)
	e.emit(t, "det-a2", a2)
	e.waitIdle(t)
	id := last[events.IncidentOpened](t, e).IncidentID
	first := events.Remediation{ExecutionID: "exec-1", IncidentID: id, Runbook: "rollback_model", StartedUnixNano: at(3 * time.Minute)}
	e.emit(t, "rem1-started", events.RemediationStarted{Remediation: first})
	first.FinishedUnixNano, first.Error = at(4*time.Minute), "model.rollback: serving answered 503"
	first.Steps = []events.Step{{Name: "rollback", Action: "model.rollback", Status: "failed", Detail: first.Error}}
	e.emit(t, "rem1-failed", events.RemediationFailed{Remediation: first})
	e.waitIdle(t)

	if n := e.count(t, events.TypeIncidentAcknowledged); n != 0 {
		t.Fatalf("%d incident.acknowledged after a failed remediation, want 0", n)
	}
	got := incidentRow(t, e, id)
	if got.Status != "open" || got.Outcome != "failed" || got.Detail != first.Error || got.Acknowledged != 0 || got.AcknowledgedBy != "" {
		t.Fatalf("row after the failure = %+v, want open, failed with its error, unacknowledged", got)
	}

	e.emit(t, "res-a1", cleared(a1, 5*time.Minute))
	second := events.Remediation{ExecutionID: "exec-2", IncidentID: id, Runbook: "restart_dependency",
		StartedUnixNano: at(6 * time.Minute)}
	e.emit(t, "rem2-started", events.RemediationStarted{Remediation: second})
	second.FinishedUnixNano = at(7 * time.Minute)
	second.Steps = []events.Step{{Name: "restart", Action: "dependency.restart", Status: "succeeded"}}
	e.emit(t, "rem2-succeeded", events.RemediationSucceeded{Remediation: second})
	e.waitIdle(t)

	ack := lastTransition(t, e, events.StatusAcknowledged)
	mit := lastTransition(t, e, events.StatusMitigated)
	if ack.AcknowledgedUnixNano != at(6*time.Minute) || ack.AcknowledgedBy != "remediation:exec-2" {
		t.Fatalf("incident.acknowledged = %+v, want at exec-2's start by remediation:exec-2", ack)
	}
	if len(mit.Firing) != 1 || mit.Firing[0].AnomalyID != "a2" || mit.AcknowledgedBy != "remediation:exec-2" {
		t.Fatalf("incident.mitigated firing %+v, acknowledged by %q; want a2 still firing, remediation:exec-2", mit.Firing, mit.AcknowledgedBy)
	}
	got = incidentRow(t, e, id)
	if got.Status != "mitigated" || got.Acknowledged != at(6*time.Minute) || got.AcknowledgedBy != "remediation:exec-2" || got.Mitigated != at(7*time.Minute) {
		t.Fatalf("row after the success = %+v, want mitigated, acknowledged at exec-2's start by remediation:exec-2", got)
	}
}

// An escalation is recorded on the incident, which stays open and
// unacknowledged.
func TestEscalationIsRecorded(t *testing.T) {
	e := newEnv(t)
	e.start(t)
	e.emit(t, "det-a1", anomaly("a1", "latency_high", events.SeverityWarning, 0))
	e.waitIdle(t)
	id := last[events.IncidentOpened](t, e).IncidentID
	e.emit(t, "esc-1", events.RemediationEscalated{EscalationID: "escalation-1", IncidentID: id, AnalysisID: "analysis-1",
		Reason: events.EscalationTiedCauses, Detail: "fraud@v2 and feature-service tie at 0.61", Confidence: 0.3,
		EscalatedUnixNano: at(3 * time.Minute)})
	e.waitIdle(t)

	for _, typ := range []string{events.TypeIncidentAcknowledged, events.TypeIncidentMitigated} {
		if n := e.count(t, typ); n != 0 {
			t.Fatalf("%d %s after an escalation, want 0", n, typ)
		}
	}
	got := incidentRow(t, e, id)
	want := row{Status: "open", Outcome: "escalated", Detail: "tied_causes: fraud@v2 and feature-service tie at 0.61",
		Source: events.FaultStartSymptomOnset, FaultStarted: at(0)}
	if got != want {
		t.Fatalf("row = %+v, want %+v", got, want)
	}
}
