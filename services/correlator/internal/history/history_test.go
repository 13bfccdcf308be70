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
	st.ApplyRCA(events.RCACompleted{FaultStartedUnixNano: 50, Causes: []events.Cause{{Rank: 1, Kind: events.CauseChange, ID: "deploy-7", Score: 1}}})
	if _, err := st.ApplyRemediation(events.TypeRemediationSucceeded, events.Remediation{ExecutionID: "x", Runbook: "rollback_model",
		StartedUnixNano: 400, FinishedUnixNano: 500}, "e3", 0); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, st); err != nil {
		t.Fatal(err)
	}
	var (
		n                                    uint64
		version                              uint64
		status, cause, kind, runbook, result string
		fault, detected, acked, mitigated    int64
	)
	err := s.Conn().QueryRow(ctx, `SELECT count(), any(version), any(toString(status)), any(top_cause), any(top_cause_kind),
		any(runbook), any(remediation_outcome), any(fault_started_unix_nano), any(detected_unix_nano),
		any(acknowledged_unix_nano), any(mitigated_unix_nano) FROM incidents FINAL`).
		Scan(&n, &version, &status, &cause, &kind, &runbook, &result, &fault, &detected, &acked, &mitigated)
	if err != nil {
		t.Fatal(err)
	}
	got := [...]any{n, version, status, cause, kind, runbook, result, fault, detected, acked, mitigated}
	want := [...]any{uint64(1), st.Version, st.Status(), "deploy-7", events.CauseChange, "rollback_model", incident.OutcomeSucceeded,
		int64(50), int64(200), int64(400), int64(500)}
	if got != want {
		t.Fatalf("row = %v, want %v", got, want)
	}
}
