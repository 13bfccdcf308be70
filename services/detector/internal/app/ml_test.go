package app

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/servicetest"
)

// Through the bus: a feature whose values shift fires a KS drift anomaly,
// a slower new version fires a canary anomaly naming it, each with its
// evidence; repeated points are counted on /metrics and fire nothing.
func TestMLDetectorsThroughTheBus(t *testing.T) {
	h := runLate(t, "testdata/ml.yaml")

	base := time.Now().Add(-3 * time.Minute).Truncate(10 * time.Second)
	window := func(w int) time.Time { return base.Add(time.Duration(w) * 10 * time.Second) }
	for w := range 8 {
		shift := 0.0
		if w >= 6 {
			shift = 50
		}
		// One value per window: two samples of 64 from a spread of values
		// differ by chance, and a KS test at p < 0.05 fires on a few
		// healthy windows in a hundred (docs/DETECTORS.md); now that every
		// window of a batch is judged, that would make this test flaky.
		pts := records(window(w), "feature.amount", "v1", 1000, func(int) float64 { return 42 + shift })
		if w < 6 {
			// A sender that sent each of its first 20 points twice in the
			// healthy windows: counted, ignored. (NaN cannot cross the bus:
			// the telemetry schema refuses it; the engine's tests feed it
			// directly.)
			var twice []events.Point
			for _, p := range pts[:20] {
				twice = append(twice, p, p)
			}
			pts = append(twice, pts[20:]...)
		}
		h.publish(t, fmt.Sprintf("amount-%d", w), pts)
	}
	h.publish(t, "latency", append(
		records(window(0), "inference.latency_ms", "v1", 300, func(i int) float64 { return float64(40 + i%50) }),
		records(window(0), "inference.latency_ms", "v2", 100, func(i int) float64 { return float64(90 + i%50) })...))
	// Points past each series' last window and its grace, to judge it.
	h.publish(t, "tick", []events.Point{
		{Name: "feature.amount", Value: 1, TimeUnixNano: window(8).Add(2 * time.Second).UnixNano(), Service: "model-server", Model: "fraud", ModelVersion: "v1"},
		{Name: "inference.latency_ms", Value: 1, TimeUnixNano: window(1).Add(2 * time.Second).UnixNano(), Service: "model-server", Model: "fraud", ModelVersion: "v1"},
	})
	servicetest.Poll(t, "two anomaly.detected", func() bool { return len(h.ofType(events.TypeAnomalyDetected)) >= 2 })

	byRule := map[string]events.AnomalyDetected{}
	for _, ev := range h.ofType(events.TypeAnomalyDetected) {
		d := servicetest.As[events.AnomalyDetected](t, ev)
		if first, dup := byRule[d.Rule]; dup {
			t.Fatalf("rule %s fired twice: %s started %v after base, and %s started %v after base (event ids %s; resolved events: %d)",
				d.Rule, first.AnomalyID, time.Unix(0, first.StartedUnixNano).Sub(base), d.AnomalyID,
				time.Unix(0, d.StartedUnixNano).Sub(base), ev.ID(), len(h.ofType(events.TypeAnomalyResolved)))
		}
		byRule[d.Rule] = d
	}
	drift, canary := byRule["amount_drift"], byRule["latency_canary"]
	if drift.PValue == nil || canary.PValue == nil || drift.Statistic == nil || canary.Expected == nil {
		t.Fatalf("no evidence: drift %+v canary %+v", drift, canary)
	}
	checkAll(t, []check{
		{name: "drift detector", ok: drift.Detector == "drift_ks", got: drift.Detector},
		{name: "drift starts with the shifted window", ok: drift.StartedUnixNano == window(6).UnixNano(), got: time.Unix(0, drift.StartedUnixNano).Sub(window(6))},
		{name: "drift p-value", ok: *drift.PValue < 1e-6, got: *drift.PValue},
		{name: "drift D", ok: *drift.Statistic > 0.3, got: *drift.Statistic},
		{name: "drift threshold is the KS alpha", ok: drift.Threshold == 0.05, got: drift.Threshold},
		{name: "drift window", ok: drift.WindowSeconds == 10 && drift.BaselineSeconds == 20, got: [2]float64{drift.WindowSeconds, drift.BaselineSeconds}},
		{name: "drift reference", ok: drift.Reference == "trailing window 20s, lag 10s", got: drift.Reference},
		{name: "drift model version", ok: drift.ModelVersion == "v1", got: drift.ModelVersion},
		{name: "drift summary", ok: strings.HasPrefix(drift.Summary, "feature amount drifted on fraud (D 1, p "), got: drift.Summary},
		{name: "canary names the candidate", ok: canary.ModelVersion == "v2" && canary.Labels["candidate_version"] == "v2" && canary.Labels["baseline_version"] == "v1", got: canary.Labels},
		{name: "canary means", ok: canary.Value == 114.5 && *canary.Expected == 64.5, got: [2]float64{canary.Value, *canary.Expected}},
		{name: "canary p-value", ok: *canary.PValue < 1e-10, got: *canary.PValue},
	})
	rejected := func(reason string) float64 {
		return h.metric(t, `medic_detector_points_rejected_total{reason="`+reason+`"}`)
	}
	if got := rejected("duplicate"); got != 6*20 {
		t.Errorf("duplicates counted %v, want %v", got, 6*20)
	}
}
