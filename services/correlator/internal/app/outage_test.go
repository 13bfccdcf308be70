package app

import (
	"context"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/services/correlator/internal/state"
)

// With ClickHouse unreachable, the incident lifecycle goes on: an anomaly
// opens an incident, a successful remediation acknowledges and mitigates
// it, and its clearing resolves it, each published at once. Once ClickHouse
// is back, the incidents table and the events table catch up: FINAL shows
// the incident's latest version.
func TestLifecycleDoesNotWaitForClickHouse(t *testing.T) {
	e := newEnv(t)
	proxy := storetest.NewProxy(t, storetest.Addr())
	proxy.On()
	e.chAddr = proxy.Addr()
	e.start(t)
	proxy.Off()

	a1 := anomaly("a1", "latency_high", events.SeverityCritical, 0)
	e.emit(t, "det-a1", a1)
	e.waitPublished(t, events.TypeIncidentOpened)
	id := last[events.IncidentOpened](t, e).IncidentID
	cause := events.Cause{Rank: 1, Kind: events.CauseChange, ID: "deploy-7", Score: 0.93, ChangeID: "deploy-7"}
	e.emit(t, "rca-1", analysis(id, cause, at(-2*time.Minute), events.FaultStartChange, at(3*time.Minute)))
	e.emit(t, "rem-succeeded", events.RemediationSucceeded{Remediation: remediation(id, 5*time.Minute)})
	e.waitPublished(t, events.TypeIncidentAcknowledged, events.TypeIncidentMitigated)
	e.emit(t, "res-a1", cleared(a1, 8*time.Minute))
	e.waitPublished(t, events.TypeIncidentResolved)
	if n := e.rows(t); n != 0 {
		t.Fatalf("%d incidents rows while ClickHouse was unreachable through the proxy; the test does not cut it", n)
	}

	proxy.On()
	e.waitIdle(t)
	st, err := state.Open(context.Background(), e.pub.JetStream())
	if err != nil {
		t.Fatal(err)
	}
	inc, _, err := st.Incident(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var version uint64
	if err := e.db.Conn().QueryRow(context.Background(), "SELECT version FROM incidents FINAL WHERE incident_id = ?", id).Scan(&version); err != nil {
		t.Fatal(err)
	}
	got := incidentRow(t, e, id)
	if version != inc.Version || got.Status != "resolved" || got.Outcome != "succeeded" || got.Runbook != "rollback_model" ||
		got.FaultStarted != at(-2*time.Minute) || got.Mitigated != at(5*time.Minute) {
		t.Fatalf("incidents FINAL = version %d %+v, want the stored version %d, resolved after a successful rollback", version, got, inc.Version)
	}
	checkEventsArchived(t, e)
}

// waitPublished waits until each type is on the bus once.
func (e *env) waitPublished(t *testing.T, types ...string) {
	t.Helper()
	for _, typ := range types {
		servicetest.Poll(t, typ+" published", func() bool { return e.count(t, typ) == 1 })
	}
}

// rows is the number of rows in the incidents table.
func (e *env) rows(t *testing.T) uint64 {
	t.Helper()
	var n uint64
	if err := e.db.Conn().QueryRow(context.Background(), "SELECT count() FROM incidents").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A correlator that starts while ClickHouse is unreachable runs the
// incident lifecycle at once, and writes the incidents row once ClickHouse
// answers.
func TestStartsWithoutClickHouse(t *testing.T) {
	e := newEnv(t)
	proxy := storetest.NewProxy(t, storetest.Addr()) // off: nothing answers there
	e.chAddr = proxy.Addr()
	e.run(t)
	e.emit(t, "det-a1", anomaly("a1", "latency_high", events.SeverityCritical, 0))
	e.waitPublished(t, events.TypeIncidentOpened)
	proxy.On()
	e.waitIdle(t)
	id := last[events.IncidentOpened](t, e).IncidentID
	if got := incidentRow(t, e, id); got.Status != "open" {
		t.Fatalf("incidents FINAL status %q, want open", got.Status)
	}
}
