package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/servicetest"
)

// base is a fixed point in the past that the scenario's times hang off.
var base = time.Now().Add(-time.Hour).Truncate(time.Second).UnixNano()

func at(d time.Duration) int64 { return base + int64(d) }

func anomaly(id, rule, severity string, started time.Duration) events.AnomalyDetected {
	return events.AnomalyDetected{AnomalyID: id, Rule: rule, Fingerprint: "fp-" + id, Metric: "model.latency_p99",
		Value: 2.5, Threshold: 1, Severity: severity, Summary: rule + " above threshold",
		StartedUnixNano: at(started), DetectedUnixNano: at(started + time.Minute),
		Service: "model-server", Model: "fraud", ModelVersion: "v2"}
}

func cleared(a events.AnomalyDetected, d time.Duration) events.AnomalyResolved {
	return events.AnomalyResolved{AnomalyID: a.AnomalyID, Rule: a.Rule, Fingerprint: a.Fingerprint, Metric: a.Metric,
		Value: 0.4, ResolvedUnixNano: at(d), Service: a.Service, Model: a.Model}
}

func remediation(incidentID string, finished time.Duration) events.Remediation {
	r := events.Remediation{ExecutionID: "exec-1", IncidentID: incidentID, Runbook: "rollback_model", StartedUnixNano: at(4 * time.Minute)}
	if finished > 0 {
		r.FinishedUnixNano = at(finished)
		r.Steps = []events.Step{{Name: "rollback", Action: "model.rollback", Status: "succeeded"}}
	}
	return r
}

// analysis is an rca.completed for an incident, as the rca publishes it.
func analysis(incidentID string, top events.Cause, faultStart int64, source string, analyzed int64) events.RCACompleted {
	return events.RCACompleted{AnalysisID: "analysis-" + incidentID, Trigger: events.TriggerOpened, Confidence: 0.9,
		Baseline: events.Baseline{Seconds: 300, Points: 300, Sufficient: true}, IncidentID: incidentID, Symptom: "latency",
		Causes: []events.Cause{top}, WindowStartUnixNano: at(-5 * time.Minute), WindowEndUnixNano: at(2 * time.Minute),
		BaselineStartUnixNano: at(-time.Hour), BaselineEndUnixNano: at(-5 * time.Minute),
		FaultStartedUnixNano: faultStart, FaultStartSource: source, AnalyzedUnixNano: analyzed}
}

// Two anomalies of one model make one incident, which goes through its
// whole lifecycle; redelivered anomalies change nothing; ClickHouse ends up
// with the incident's history and every event.
func TestIncidentLifecycle(t *testing.T) {
	e := newEnv(t)
	e.start(t)
	a1 := anomaly("a1", "latency_high", events.SeverityWarning, 0)
	a2 := anomaly("a2", "error_rate_high", events.SeverityCritical, -time.Minute)
	e.emit(t, "points-1", events.TelemetryPoints{Source: "simulator", Points: []events.Point{
		{Name: "model.latency_p99", Value: 2.5, TimeUnixNano: at(0), Service: "model-server", Model: "fraud"}}})
	e.emit(t, "det-a1", a1)
	e.emit(t, "det-a2", a2)
	e.emit(t, "det-a2-resent", a2) // same anomaly, new event id
	e.waitIdle(t)
	if n := e.count(t, events.TypeIncidentOpened); n != 1 {
		t.Fatalf("%d incident.opened for two anomalies of one model, want 1", n)
	}
	opened := last[events.IncidentOpened](t, e)
	if opened.GroupKey != "model=fraud" || opened.Anomalies[0].AnomalyID != a1.AnomalyID || opened.DetectedUnixNano != a1.DetectedUnixNano {
		t.Fatalf("incident.opened = %+v, want group model=fraud opened by a1", opened)
	}
	id := opened.IncidentID
	cause := events.Cause{Rank: 1, Kind: events.CauseChange, ID: "deploy-7", Score: 0.93, ChangeID: "deploy-7"}
	e.emit(t, "rca-1", analysis(id, cause, at(-2*time.Minute), events.FaultStartChange, at(3*time.Minute)))
	e.emit(t, "rem-started", events.RemediationStarted{Remediation: remediation(id, 0)})
	e.emit(t, "rem-succeeded", events.RemediationSucceeded{Remediation: remediation(id, 5*time.Minute)})
	e.emit(t, "res-a1", cleared(a1, 8*time.Minute))
	e.emit(t, "res-a2", cleared(a2, 7*time.Minute))
	e.emit(t, "det-a1-resent", a1) // after resolution: must not reopen
	e.waitIdle(t)

	for _, typ := range []string{events.TypeIncidentOpened, events.TypeIncidentAcknowledged, events.TypeIncidentMitigated, events.TypeIncidentResolved} {
		if n := e.count(t, typ); n != 1 {
			t.Errorf("%d %s on the bus, want 1", n, typ)
		}
	}
	checkResolvedEvent(t, lastTransition(t, e, events.StatusResolved), id, cause)
	checkIncidentRow(t, e, id)
	checkEventsArchived(t, e)
}

func checkResolvedEvent(t *testing.T, got events.IncidentTransition, id string, cause events.Cause) {
	t.Helper()
	want := events.RemediationSummary{ExecutionID: "exec-1", Runbook: "rollback_model", Outcome: "succeeded"}
	if got.IncidentID != id || got.TopCause == nil || got.TopCause.ID != cause.ID || got.Remediation == nil || *got.Remediation != want {
		t.Fatalf("incident.resolved = %+v (cause %+v, remediation %+v), want cause %s and remediation %+v",
			got, got.TopCause, got.Remediation, cause.ID, want)
	}
	if got.ResolvedUnixNano != at(8*time.Minute) || got.FaultStartedUnixNano != at(-2*time.Minute) ||
		got.AcknowledgedUnixNano != at(4*time.Minute) || got.MitigatedUnixNano != at(5*time.Minute) {
		t.Fatalf("incident.resolved times = %+v, want resolved at the last clearing, fault start from the RCA", got)
	}
}

func checkIncidentRow(t *testing.T, e *env, id string) {
	t.Helper()
	var (
		n                                                   uint64
		gotID, status, cause, runbook, outcome, severity    string
		fault, detected, opened, acked, mitigated, resolved int64
	)
	err := e.db.Conn().QueryRow(context.Background(), `SELECT count(), any(incident_id), any(toString(status)), any(top_cause),
		any(runbook), any(remediation_outcome), any(severity), any(fault_started_unix_nano), any(detected_unix_nano),
		any(opened_unix_nano), any(acknowledged_unix_nano), any(mitigated_unix_nano), any(resolved_unix_nano)
		FROM incidents FINAL`).Scan(&n, &gotID, &status, &cause, &runbook, &outcome, &severity,
		&fault, &detected, &opened, &acked, &mitigated, &resolved)
	if err != nil {
		t.Fatal(err)
	}
	got := [...]any{n, gotID, status, cause, runbook, outcome, severity, fault, detected, acked, mitigated, resolved}
	want := [...]any{uint64(1), id, "resolved", "deploy-7", "rollback_model", "succeeded", events.SeverityCritical,
		at(-2 * time.Minute), at(time.Minute), at(4 * time.Minute), at(5 * time.Minute), at(8 * time.Minute)}
	if got != want {
		t.Fatalf("incidents FINAL = %v, want %v", got, want)
	}
	if opened <= 0 {
		t.Fatalf("opened_unix_nano = %d, want the time the incident opened", opened)
	}
}

// checkEventsArchived compares the events table with the bus: per type, as
// many distinct ids as the two streams hold messages.
func checkEventsArchived(t *testing.T, e *env) {
	t.Helper()
	// Telemetry is not archived as events: its points are metrics rows.
	want := e.counts(t, bus.StreamEvents, bus.SubjectsEvents)
	var got map[string]uint64
	servicetest.Poll(t, "every event archived", func() bool {
		rows, err := e.db.Conn().Query(context.Background(), "SELECT type, uniq(id) FROM events GROUP BY type")
		if err != nil {
			return false
		}
		defer rows.Close()
		got = map[string]uint64{}
		for rows.Next() {
			var typ string
			var n uint64
			if rows.Scan(&typ, &n) == nil {
				got[events.Subject(typ)] = n
			}
		}
		return mapsEqual(got, want)
	})
}

func mapsEqual(a, b map[string]uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// The correlator keeps incident state in JetStream KV: a new process picks
// up an incident the previous one opened and resolves it.
func TestStateSurvivesRestart(t *testing.T) {
	e := newEnv(t)
	stop := e.start(t)
	a1 := anomaly("a1", "latency_high", events.SeverityWarning, 0)
	e.emit(t, "det-a1", a1)
	e.waitIdle(t)
	if n := e.count(t, events.TypeIncidentOpened); n != 1 {
		t.Fatalf("%d incident.opened, want 1", n)
	}
	stop()

	e.start(t)
	e.emit(t, "res-a1", cleared(a1, 5*time.Minute))
	e.waitIdle(t)
	if n := e.count(t, events.TypeIncidentResolved); n != 1 {
		t.Fatalf("%d incident.resolved after restart, want 1", n)
	}
	resolved := lastTransition(t, e, events.StatusResolved)
	if opened := last[events.IncidentOpened](t, e); resolved.IncidentID != opened.IncidentID || resolved.ResolvedUnixNano != at(5*time.Minute) {
		t.Fatalf("resolved %+v, want incident %s resolved at the anomaly's clearing", resolved, opened.IncidentID)
	}
	var status string
	if err := e.db.Conn().QueryRow(context.Background(), "SELECT toString(status) FROM incidents FINAL").Scan(&status); err != nil || status != "resolved" {
		t.Fatalf("incidents status = %q, %v; want resolved", status, err)
	}
}

// An event for an incident the correlator does not know is retried until it
// has waited long enough (shortened here to 2 s), then dead-lettered with a
// reason, and writes nothing.
func TestUnknownIncidentIsDeadLettered(t *testing.T) {
	e := newEnv(t)
	e.unknownWait = 2 * time.Second
	e.start(t)
	e.emit(t, "rca-orphan", analysis("no-such-incident", events.Cause{Rank: 1, Kind: events.CauseService, ID: "gateway", Score: 1},
		0, events.FaultStartUnknown, at(0)))
	dlq := "medic.dlq." + events.Subject(events.TypeRCACompleted)
	servicetest.Poll(t, "the event in the dead-letter stream", func() bool {
		return e.counts(t, bus.StreamDLQ, dlq)[dlq] == 1
	})
	s, err := e.pub.JetStream().Stream(context.Background(), bus.StreamDLQ)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := s.GetLastMsgForSubject(context.Background(), dlq)
	if err != nil {
		t.Fatal(err)
	}
	reason := msg.Header.Get(bus.HeaderDLQReason)
	if !strings.Contains(reason, "no-such-incident") || !strings.Contains(reason, "unknown") {
		t.Fatalf("dead-letter reason %q, want it to name the unknown incident", reason)
	}
	var n uint64
	if err := e.db.Conn().QueryRow(context.Background(), "SELECT count() FROM incidents").Scan(&n); err != nil || n != 0 {
		t.Fatalf("incidents rows = %d, %v; want none", n, err)
	}
}
