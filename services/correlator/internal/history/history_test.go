package history

import (
	"context"
	"testing"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/services/correlator/internal/incident"
)

// Each transition writes a row; FINAL shows the incident at its newest
// version with every field the state holds.
func TestWriteKeepsNewestVersion(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	w := NewWriter(s)
	a := events.AnomalyDetected{AnomalyID: "a1", Rule: "latency", Metric: "m", Severity: events.SeverityCritical,
		Service: "model-server", Model: "fraud", StartedUnixNano: 100, DetectedUnixNano: 200}
	st, _ := incident.Open("inc-1", "model=fraud", a, "e1", 300)
	if err := w.Write(ctx, st); err != nil {
		t.Fatal(err)
	}
	st.ApplyRCA(events.RCACompleted{FaultStartedUnixNano: 50, FaultStartSource: events.FaultStartChange, Causes: []events.Cause{{Rank: 1, Kind: events.CauseChange, ID: "deploy-7", Score: 1}}})
	if _, err := st.ApplyRemediation(events.TypeRemediationSucceeded, events.Remediation{ExecutionID: "x", Runbook: "rollback_model",
		StartedUnixNano: 400, FinishedUnixNano: 500}, "e3", 0); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, st); err != nil {
		t.Fatal(err)
	}
	var (
		n                                                   uint64
		version                                             uint64
		status, cause, kind, runbook, result, source, ackBy string
		fault, detected, acked, mitigated                   int64
	)
	err := s.Conn().QueryRow(ctx, `SELECT count(), any(version), any(toString(status)), any(top_cause), any(top_cause_kind),
		any(runbook), any(remediation_outcome), any(fault_started_unix_nano), any(fault_start_source), any(detected_unix_nano),
		any(acknowledged_unix_nano), any(acknowledged_by), any(mitigated_unix_nano) FROM incidents FINAL`).
		Scan(&n, &version, &status, &cause, &kind, &runbook, &result, &fault, &source, &detected, &acked, &ackBy, &mitigated)
	if err != nil {
		t.Fatal(err)
	}
	got := [...]any{n, version, status, cause, kind, runbook, result, fault, source, detected, acked, ackBy, mitigated}
	want := [...]any{uint64(1), st.Version, st.Status(), "deploy-7", events.CauseChange, "rollback_model", incident.OutcomeSucceeded,
		int64(50), events.FaultStartChange, int64(200), int64(400), "remediation:x", int64(500)}
	if got != want {
		t.Fatalf("row = %v, want %v", got, want)
	}
}

// An incident that no analysis explained keeps its estimated fault start,
// and an escalation's reason is on the row.
func TestWriteEstimatedStartAndEscalation(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	a := events.AnomalyDetected{AnomalyID: "a1", Rule: "latency", Metric: "m", Severity: events.SeverityWarning,
		Service: "model-server", Model: "fraud", StartedUnixNano: 100, DetectedUnixNano: 200}
	st, _ := incident.Open("inc-1", "model=fraud", a, "e1", 300)
	st.ApplyEscalation(events.RemediationEscalated{EscalationID: "esc-1", IncidentID: "inc-1", Reason: events.EscalationLowConfidence,
		Detail: "confidence 0.41 below 0.6", EscalatedUnixNano: 400})
	if err := NewWriter(s).Write(ctx, st); err != nil {
		t.Fatal(err)
	}
	var status, source, outcome, detail, ackBy string
	var fault, acked int64
	err := s.Conn().QueryRow(ctx, `SELECT toString(status), fault_started_unix_nano, fault_start_source, remediation_outcome,
		remediation_detail, acknowledged_unix_nano, acknowledged_by FROM incidents FINAL`).
		Scan(&status, &fault, &source, &outcome, &detail, &acked, &ackBy)
	if err != nil {
		t.Fatal(err)
	}
	got := [...]any{status, fault, source, outcome, detail, acked, ackBy}
	want := [...]any{incident.StatusOpen, int64(100), events.FaultStartSymptomOnset, incident.OutcomeEscalated,
		"low_confidence: confidence 0.41 below 0.6", int64(0), ""}
	if got != want {
		t.Fatalf("row = %v, want %v", got, want)
	}
}
