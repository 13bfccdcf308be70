package app

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/medic-sre/medic/pkg/storetest"
)

// With ClickHouse unreachable, a bad deploy is still detected and resolved:
// evaluation does not wait for the metrics table, while /readyz says that
// ClickHouse is missing. Once ClickHouse is back, every point lands in the
// metrics table, once (issue #6, defect 5).
func TestDetectsWhileClickHouseIsDown(t *testing.T) {
	h := newHarness(t, "testdata/rules.yaml")
	proxy := storetest.NewProxy(t, storetest.Addr())
	proxy.On()
	h.opts.Service.ClickHouse.Addr = proxy.Addr()
	h.run(t)
	base := time.Now().Add(-time.Minute).Truncate(time.Second)
	sent := 0
	send := func(id string, points []events.Point) { h.publish(t, id, points); sent += len(points) }
	send("before-the-outage", series(base, "prediction.error", "model-server", 0, 2000, 0))
	servicetest.Poll(t, "the first points archived", func() bool { return h.metricRows(t) == uint64(sent) })

	proxy.Off()
	servicetest.Poll(t, "/readyz to name clickhouse", func() bool { return h.failing(t)["clickhouse"] != nil })
	// A bad deploy: v2 of the model errs on most requests, then is rolled back.
	send("baseline", series(base, "prediction.error", "model-server", 2000, 3000, 0))
	send("bad-deploy", series(base, "prediction.error", "model-server", 3000, 5000, 1))
	servicetest.Poll(t, "anomaly.detected while ClickHouse is down", func() bool { return len(h.ofType(events.TypeAnomalyDetected)) > 0 })
	send("rolled-back", series(base, "prediction.error", "model-server", 5000, 7000, 0))
	servicetest.Poll(t, "anomaly.resolved while ClickHouse is down", func() bool { return len(h.ofType(events.TypeAnomalyResolved)) > 0 })
	if h.failing(t)["clickhouse"] == nil {
		t.Fatal("/readyz no longer names clickhouse, which is still down")
	}
	if n := h.metricRows(t); n != uint64(len(series(base, "", "", 0, 2000, 0))) {
		t.Fatalf("the metrics table holds %d rows while ClickHouse is unreachable through the detector's address", n)
	}

	proxy.On()
	servicetest.Poll(t, "every point in the metrics table", func() bool { return h.metricRows(t) == uint64(sent) })
	servicetest.Poll(t, "ready again", func() bool { return servicetest.Status(h.http+"/readyz") == http.StatusOK })
	checkOneAnomaly(t, h)
}

// failing is what /readyz names as failing.
func (h *harness) failing(t *testing.T) map[string]any {
	t.Helper()
	resp, err := http.Get(h.http + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Failing map[string]any `json:"failing"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return body.Failing
}
