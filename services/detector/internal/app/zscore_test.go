package app

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/servicetest"
)

// latencyBounds are the histogram's bucket bounds, in ms.
var latencyBounds = []float64{25, 50, 75, 100, 125, 150, 200, 300, 500, 1000}

// latencyExports makes what the ingest service makes of a latency
// histogram exported every 500ms in [from, to): per export, 20 requests
// whose latency is lognormal around median ms (sigma 0.3), as le-cumulative
// bucket counts.
func latencyExports(rng *rand.Rand, from, to time.Time, median float64) []events.Point {
	var out []events.Point
	for at := from; at.Before(to); at = at.Add(500 * time.Millisecond) {
		counts := make([]float64, len(latencyBounds)+1)
		for range 20 {
			v := median * math.Exp(0.3*rng.NormFloat64())
			for i, le := range latencyBounds {
				if v <= le {
					counts[i]++
				}
			}
			counts[len(latencyBounds)]++ // +Inf
		}
		for i, c := range counts {
			le := "+Inf"
			if i < len(latencyBounds) {
				le = strconv.FormatFloat(latencyBounds[i], 'f', -1, 64)
			}
			out = append(out, events.Point{Name: "prediction.latency_ms_bucket", Value: c, TimeUnixNano: at.UnixNano(),
				Service: "model-server", Model: "fraud", ModelVersion: "v1", Attributes: map[string]string{"le": le}})
		}
	}
	return out
}

// 30 minutes of healthy, noisy latency fire nothing; a step change in
// latency then fires a zscore anomaly, with no threshold configured,
// carrying its evidence.
func TestZScoreFiresOnALatencyStepAndNotOnNoise(t *testing.T) {
	h := runLate(t, "testdata/zscore.yaml")

	rng := rand.New(rand.NewPCG(2026, 9))
	base := time.Now().Add(-32 * time.Minute).Truncate(time.Second)
	step := base.Add(30 * time.Minute)
	for i := range 60 { // 30 healthy minutes, 30s a message
		from := base.Add(time.Duration(i) * 30 * time.Second)
		h.publish(t, fmt.Sprintf("healthy-%d", i), latencyExports(rng, from, from.Add(30*time.Second), 80))
	}
	h.publish(t, "slow", latencyExports(rng, step, step.Add(time.Minute), 160))
	servicetest.Poll(t, "anomaly.detected", func() bool { return len(h.ofType(events.TypeAnomalyDetected)) > 0 })

	detected := h.ofType(events.TypeAnomalyDetected)
	d := servicetest.As[events.AnomalyDetected](t, detected[0])
	if len(detected) != 1 || d.StartedUnixNano < step.Add(-time.Second).UnixNano() {
		t.Fatalf("healthy data fired: the first of %d anomalies started %v before the step",
			len(detected), step.Sub(time.Unix(0, d.StartedUnixNano)))
	}
	if d.Expected == nil || d.Statistic == nil {
		t.Fatalf("no evidence: expected %v, statistic %v", d.Expected, d.Statistic)
	}
	checkAll(t, []check{
		{name: "rule", ok: d.Rule == "prediction_latency_shift", got: d.Rule},
		{name: "detector", ok: d.Detector == "zscore", got: d.Detector},
		// A lognormal with median 80ms and sigma 0.3 has its p95 at 131ms.
		{name: "expected is the healthy p95", ok: *d.Expected > 110 && *d.Expected < 150, got: *d.Expected},
		{name: "value is the slow p95", ok: d.Value > 200, got: d.Value},
		{name: "statistic past the limit", ok: *d.Statistic > 4, got: *d.Statistic},
		{name: "threshold is the default z limit", ok: d.Threshold == 4, got: d.Threshold},
		{name: "no p-value", ok: d.PValue == nil, got: d.PValue},
		{name: "window_seconds", ok: d.WindowSeconds == 10, got: d.WindowSeconds},
		{name: "baseline_seconds", ok: d.BaselineSeconds == 600, got: d.BaselineSeconds},
		{name: "started within 2s of the step", ok: d.StartedUnixNano <= step.Add(2*time.Second).UnixNano(), got: time.Unix(0, d.StartedUnixNano).Sub(step)},
	})
}

// When all telemetry stops mid-fault, the detector's clock moves the
// series on: its anomaly resolves, saying no_data, without another point.
func TestFiringAnomalyResolvesWhenAllTelemetryStops(t *testing.T) {
	h := start(t, "testdata/rules.yaml")
	base := time.Now().Add(-time.Minute).Truncate(time.Second)
	h.publish(t, "baseline", series(base, "prediction.error", "model-server", 0, 3000, 0))
	h.publish(t, "burst", series(base, "prediction.error", "model-server", 3000, 5000, 1))
	servicetest.Poll(t, "anomaly.resolved", func() bool { return len(h.ofType(events.TypeAnomalyResolved)) > 0 })
	checkOneAnomaly(t, h)
	r := servicetest.As[events.AnomalyResolved](t, h.ofType(events.TypeAnomalyResolved)[0])
	if r.Reason != events.ResolvedNoData {
		t.Fatalf("resolved with reason %q, want %q", r.Reason, events.ResolvedNoData)
	}
}
