package app

import (
	"fmt"
	"math/rand/v2"
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

// A restarted detector rebuilds a zscore rule's baseline from the telemetry
// it had evaluated, so that a latency step right after the restart fires:
// without the replay the rule would need min_baseline_points (30 s) of new
// data first, and would take the step itself for its baseline. The replay
// fires nothing of its own.
func TestRestartRebuildsBaselinesFromTheStream(t *testing.T) {
	h := newHarness(t, "testdata/zscore.yaml")
	opts := h.opts
	opts.EvalInterval, opts.MaxLateness, opts.MaxWarmUp = time.Second, time.Hour, time.Hour
	first := h.runWith(t, opts)

	rng := rand.New(rand.NewPCG(2026, 12))
	base := time.Now().Add(-4 * time.Minute).Truncate(time.Second)
	step := base.Add(3 * time.Minute)
	for i := range 6 { // 3 healthy minutes, 30 s a message
		from := base.Add(time.Duration(i) * 30 * time.Second)
		h.publish(t, fmt.Sprintf("healthy-%d", i), latencyExports(rng, from, from.Add(30*time.Second), 80))
	}
	servicetest.WaitConsumed(t, h.js, bus.StreamTelemetry, Consumer().Durable)
	first.Stop()
	if n := len(h.ofType(events.TypeAnomalyDetected)); n != 0 {
		t.Fatalf("%d anomalies on healthy data", n)
	}

	h.runWith(t, opts)
	h.publish(t, "slow", latencyExports(rng, step, step.Add(20*time.Second), 160))
	servicetest.WaitConsumed(t, h.js, bus.StreamTelemetry, Consumer().Durable)
	servicetest.Poll(t, "anomaly.detected", func() bool { return len(h.ofType(events.TypeAnomalyDetected)) > 0 })
	detected := h.ofType(events.TypeAnomalyDetected)
	d := servicetest.As[events.AnomalyDetected](t, detected[0])
	// Its start is its first breaching export, which may be the last
	// healthy one, 500ms before the step, if that one was slow by chance.
	if len(detected) != 1 || d.StartedUnixNano < step.Add(-time.Second).UnixNano() {
		t.Fatalf("%d anomalies, the first started %v after the step; want one, at the step",
			len(detected), time.Unix(0, d.StartedUnixNano).Sub(step))
	}
}
