package app

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/medic-sre/medic/pkg/storetest"
)

// sqlBlocks returns the ```sql blocks of a Markdown file of the repository.
func sqlBlocks(t *testing.T, rel string) []string {
	t.Helper()
	return storetest.SQLBlocks(t, filepath.Join("..", "..", "..", "..", rel))
}

// An incident that no change explains gets its fault start from its first
// symptom, and every documented query keeps it beside an incident whose
// fault start is a change.
func TestDocumentedQueriesKeepEstimatedStarts(t *testing.T) {
	e := newEnv(t)
	e.start(t)
	deploy := anomaly("a1", "latency_high", events.SeverityWarning, 0)
	e.emit(t, "det-a1", deploy)
	e.waitIdle(t)
	fraud := last[events.IncidentOpened](t, e).IncidentID
	e.emit(t, "rca-fraud", analysis(fraud, events.Cause{Rank: 1, Kind: events.CauseChange, ID: "deploy-7", Score: 0.9, ChangeID: "deploy-7"},
		at(-2*time.Minute), events.FaultStartChange, at(2*time.Minute)))
	fix := events.Remediation{ExecutionID: "exec-1", IncidentID: fraud, Runbook: "rollback_model", StartedUnixNano: at(3 * time.Minute),
		FinishedUnixNano: at(4 * time.Minute), Steps: []events.Step{{Name: "rollback", Action: "model.rollback", Status: "succeeded"}}}
	e.emit(t, "rem-fraud", events.RemediationSucceeded{Remediation: fix})
	e.emit(t, "res-a1", cleared(deploy, 5*time.Minute))

	drift := anomaly("b1", "prediction_drift", events.SeverityWarning, 30*time.Second)
	drift.Model = "churn"
	e.emit(t, "det-b1", drift)
	e.waitIdle(t)
	churn := last[events.IncidentOpened](t, e).IncidentID
	e.emit(t, "esc-churn", events.RemediationEscalated{EscalationID: "escalation-1", IncidentID: churn,
		Reason: events.EscalationNoRunbook, Detail: "no runbook matches a drifting feature", EscalatedUnixNano: at(2 * time.Minute)})
	e.emit(t, "res-b1", cleared(drift, 6*time.Minute))
	e.waitIdle(t)

	res := lastTransition(t, e, events.StatusResolved)
	if res.IncidentID != churn || res.FaultStartedUnixNano != at(30*time.Second) || res.FaultStartSource != events.FaultStartSymptomOnset {
		t.Fatalf("incident.resolved = %+v, want %s with its fault start at the drift's onset (symptom_onset)", res, churn)
	}
	queries := append(sqlBlocks(t, "README.md"), sqlBlocks(t, "docs/INCIDENTS.md")...)
	if len(queries) < 7 {
		t.Fatalf("%d SQL blocks in README.md and docs/INCIDENTS.md, want at least 7", len(queries))
	}
	for i, q := range queries {
		checkQuery(t, e, i+1, q)
	}
}

// checkQuery runs a documented query until it returns rows (events are
// archived asynchronously). One that shows fault_start_source must list the
// incident with an estimated start beside the one with a change.
func checkQuery(t *testing.T, e *env, n int, q string) {
	t.Helper()
	var err error
	servicetest.Poll(t, "rows from a documented query", func() bool {
		var rows uint64
		rows, err = countRows(e, q)
		return err == nil && rows > 0
	})
	if !strings.Contains(q, "fault_start_source") {
		return
	}
	var estimated, changes uint64
	err = e.db.Conn().QueryRow(context.Background(), `SELECT countIf(fault_start_source = 'symptom_onset'),
		countIf(fault_start_source = 'change') FROM (`+q+`)`).Scan(&estimated, &changes)
	if err != nil || estimated == 0 || changes == 0 {
		t.Fatalf("query %d lists %d incidents with an estimated fault start and %d with a change (%v), want both:\n%s", n, estimated, changes, err, q)
	}
}

func countRows(e *env, q string) (uint64, error) {
	rows, err := e.db.Conn().Query(context.Background(), q)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var n uint64
	for rows.Next() {
		n++
	}
	return n, rows.Err()
}
