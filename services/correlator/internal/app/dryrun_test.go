package app

import (
	"context"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
)

// A remediation run with --dry-run acted on nothing: the incident records
// it, but is neither acknowledged nor mitigated, and still resolves.
func TestDryRunRemediationDoesNotMitigate(t *testing.T) {
	e := newEnv(t)
	e.start(t)
	a1 := anomaly("a1", "latency_high", events.SeverityWarning, 0)
	e.emit(t, "det-a1", a1)
	e.waitIdle(t)
	id := last[events.IncidentOpened](t, e).IncidentID
	started, succeeded := remediation(id, 0), remediation(id, 5*time.Minute)
	started.DryRun, succeeded.DryRun = true, true
	e.emit(t, "rem-started", events.RemediationStarted{Remediation: started})
	e.emit(t, "rem-succeeded", events.RemediationSucceeded{Remediation: succeeded})
	e.waitIdle(t)
	var status, outcome string
	var acked, mitigated int64
	err := e.db.Conn().QueryRow(context.Background(), `SELECT toString(status), remediation_outcome, acknowledged_unix_nano,
		mitigated_unix_nano FROM incidents FINAL`).Scan(&status, &outcome, &acked, &mitigated)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := [...]any{status, outcome, acked, mitigated}, [...]any{"open", "dry_run", int64(0), int64(0)}; got != want {
		t.Fatalf("incidents FINAL status, outcome, acknowledged, mitigated = %v, want %v", got, want)
	}
	e.emit(t, "res-a1", cleared(a1, 8*time.Minute))
	e.waitIdle(t)
	for _, c := range []struct {
		typ  string
		want uint64
	}{{events.TypeIncidentAcknowledged, 0}, {events.TypeIncidentMitigated, 0}, {events.TypeIncidentResolved, 1}} {
		if n := e.count(t, c.typ); n != c.want {
			t.Errorf("%d %s on the bus, want %d", n, c.typ, c.want)
		}
	}
}
