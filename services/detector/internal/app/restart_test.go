package app

import (
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/servicetest"
)

// A detector restarted while an anomaly is firing carries on with it: the
// new process detects nothing new while the fault lasts and, once the
// series is healthy, resolves the anomaly under its original id, so that
// the correlator can close the incident.
func TestRestartMidFaultResolvesTheOriginalAnomaly(t *testing.T) {
	tests := []struct {
		name  string
		after func(base time.Time) []events.Point // what the new detector sees
	}{
		{name: "healthy after the restart", after: func(base time.Time) []events.Point {
			return series(base, "prediction.error", "model-server", 5000, 7000, 0)
		}},
		{name: "the fault goes on, then clears", after: func(base time.Time) []events.Point {
			return append(series(base, "prediction.error", "model-server", 5000, 6500, 1),
				series(base, "prediction.error", "model-server", 6500, 8500, 0)...)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "testdata/rules.yaml")
			first := h.run(t)
			base := time.Now().Add(-time.Minute).Truncate(time.Second)
			h.publish(t, "baseline", series(base, "prediction.error", "model-server", 0, 3000, 0))
			h.publish(t, "burst", series(base, "prediction.error", "model-server", 3000, 5000, 1))
			servicetest.Poll(t, "anomaly.detected", func() bool { return len(h.ofType(events.TypeAnomalyDetected)) > 0 })
			servicetest.WaitConsumed(t, h.js, bus.StreamTelemetry, Consumer().Durable)
			first.Stop()

			h.run(t)
			h.publish(t, "after-restart", tc.after(base))
			servicetest.Poll(t, "anomaly.resolved", func() bool { return len(h.ofType(events.TypeAnomalyResolved)) > 0 })
			servicetest.WaitConsumed(t, h.js, bus.StreamTelemetry, Consumer().Durable)
			checkOneAnomaly(t, h)
		})
	}
}

// checkOneAnomaly checks that the bus holds one anomaly.detected and one
// anomaly.resolved, naming the same anomaly.
func checkOneAnomaly(t *testing.T, h *harness) {
	t.Helper()
	detected, resolved := h.ofType(events.TypeAnomalyDetected), h.ofType(events.TypeAnomalyResolved)
	if len(detected) != 1 || len(resolved) != 1 {
		t.Fatalf("got %d anomaly.detected and %d anomaly.resolved, want one each", len(detected), len(resolved))
	}
	d := servicetest.As[events.AnomalyDetected](t, detected[0])
	if r := servicetest.As[events.AnomalyResolved](t, resolved[0]); r.AnomalyID != d.AnomalyID {
		t.Fatalf("anomaly.resolved names %s, want the original anomaly %s", r.AnomalyID, d.AnomalyID)
	}
}
