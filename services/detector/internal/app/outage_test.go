package app

import (
	"encoding/json"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/servicetest"
)

// With ClickHouse unreachable, the detector is ready and a bad deploy is
// detected and resolved: the detector needs NATS alone and never dials
// ClickHouse, and /readyz names nats and no clickhouse. Before the
// archiver, the detector wrote the metrics table itself and /readyz
// answered 503 naming clickhouse.
func TestDetectsWhileClickHouseIsDown(t *testing.T) {
	h := newHarness(t, "testdata/rules.yaml")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	_ = ln.Close() // nothing listens there: ClickHouse is down
	h.opts.Service.ClickHouse.Addr = closed
	h.run(t)
	checks := h.checks(t)
	if checks["nats"] != "ok" || checks["clickhouse"] != "" {
		t.Fatalf("/readyz checks = %v, want nats ok and no clickhouse", checks)
	}
	base := time.Now().Add(-time.Minute).Truncate(time.Second)
	// A bad deploy: v2 of the model errs on most requests, then is rolled back.
	h.publish(t, "baseline", series(base, "prediction.error", "model-server", 0, 3000, 0))
	h.publish(t, "bad-deploy", series(base, "prediction.error", "model-server", 3000, 5000, 1))
	servicetest.Poll(t, "anomaly.detected while ClickHouse is down", func() bool { return len(h.ofType(events.TypeAnomalyDetected)) > 0 })
	h.publish(t, "rolled-back", series(base, "prediction.error", "model-server", 5000, 7000, 0))
	servicetest.Poll(t, "anomaly.resolved while ClickHouse is down", func() bool { return len(h.ofType(events.TypeAnomalyResolved)) > 0 })
	if code := servicetest.Status(h.http + "/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz = %d while ClickHouse is down, want 200", code)
	}
	checkOneAnomaly(t, h)
}

// checks is what /readyz reports per check.
func (h *harness) checks(t *testing.T) map[string]string {
	t.Helper()
	resp, err := http.Get(h.http + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Checks map[string]string `json:"checks"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return body.Checks
}
