package engine

import (
	"testing"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/detector/internal/rules"
)

// Faults the simulator can have, switched on per export.
const (
	missingFeatures = "missing features"
	modelErrors     = "model errors"
	gatewayErrors   = "gateway errors"
	slowPredictions = "slow predictions"
	slowFeatures    = "slow features"
)

var latencyBounds = []string{"5", "10", "25", "50", "100", "250", "500", "1000", "+Inf"}

// Latency histograms of one 500ms export of 25 requests: fast ones all
// within 50ms (p95 about 48ms), slow ones mostly past 500ms (p95 about
// 950ms).
var (
	fastLatency = []float64{0, 5, 15, 25, 25, 25, 25, 25, 25}
	slowLatency = []float64{0, 0, 1, 2, 3, 5, 12, 25, 25}
)

// simulatorExports makes what the ingest service turns the simulator's OTLP
// exports into, every 500ms over [0, 40s) at 50 requests/s: counter rates
// from the gateway, feature-service and model-server, and their latency
// histograms' buckets. on says whether a fault is on at an export.
func simulatorExports(on func(fault string, at int) bool) []events.Point {
	var out []events.Point
	rate := func(name, svc string, at int, v float64) {
		out = append(out, events.Point{Name: name, Value: v, TimeUnixNano: t0 + ms(at), Service: svc, Model: "fraud", ModelVersion: "v1"})
	}
	pick := func(bad bool, good, worse float64) float64 {
		if bad {
			return worse
		}
		return good
	}
	latency := func(name, svc string, at int, slow bool) {
		counts := fastLatency
		if slow {
			counts = slowLatency
		}
		out = append(out, bucketPoints(name, svc, at, at+1, 1, latencyBounds, counts)...)
	}
	for at := 0; at < 40_000; at += 500 {
		rate("requests_rate", "gateway", at, 50)
		rate("request.errors_rate", "gateway", at, pick(on(gatewayErrors, at), 0, 10))
		rate("feature.values_rate", "feature-service", at, 400) // 8 features a request
		rate("feature.missing_rate", "feature-service", at, pick(on(missingFeatures, at), 0, 200))
		latency("feature.latency_ms", "feature-service", at, on(slowFeatures, at))
		rate("predictions_rate", "model-server", at, 50)
		rate("prediction.errors_rate", "model-server", at, pick(on(modelErrors, at), 0, 17.5)) // 35%
		latency("prediction.latency_ms", "model-server", at, on(slowPredictions, at))
	}
	return out
}

// between is a fault on from `from` ms until `to`.
func between(fault string, from, to int) func(string, int) bool {
	return func(f string, at int) bool { return f == fault && at >= from && at < to }
}

// The default rules over the simulator's OTLP metrics: a blip shorter than
// `for` fires nothing, however much it lifts the 10s window; a sustained
// fault fires its rule once it has held in the data for `for`, stamped with
// the time of its first bad export.
func TestDefaultRulesBlipsAndFaults(t *testing.T) {
	f, err := rules.Load("")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		on          func(string, int) bool
		wantRule    string
		wantStarted int64 // ms after t0
	}{
		{name: "healthy", on: func(string, int) bool { return false }},
		{name: "1s blip of missing features", on: between(missingFeatures, 20_000, 21_000)},
		{name: "2s blip of missing features", on: between(missingFeatures, 20_000, 22_000)},
		{name: "2s blip of slow predictions", on: between(slowPredictions, 20_000, 22_000)},
		{name: "sustained missing features", on: between(missingFeatures, 20_500, 40_000),
			wantRule: "feature_missing_ratio", wantStarted: 20_500},
		{name: "bad model version", on: between(modelErrors, 20_500, 40_000),
			wantRule: "model_error_rate", wantStarted: 20_500},
		{name: "gateway errors", on: between(gatewayErrors, 20_500, 40_000),
			wantRule: "gateway_error_rate", wantStarted: 20_500},
		{name: "slow predictions", on: between(slowPredictions, 20_500, 40_000),
			wantRule: "prediction_latency_p95", wantStarted: 20_500},
		{name: "slow features", on: between(slowFeatures, 20_500, 40_000),
			wantRule: "feature_latency_p95", wantStarted: 20_500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fired, at := detectInExports(t, f.Rules, simulatorExports(tc.on))
			if !firedOnly(t, fired, tc.wantRule) {
				return
			}
			if got := (fired[0].StartedUnixNano - t0) / ms(1); got != tc.wantStarted {
				t.Errorf("started at +%dms, want the first bad export, +%dms", got, tc.wantStarted)
			}
			if lag := at - fired[0].StartedUnixNano; lag < ms(3000) || lag > ms(5000) {
				t.Errorf("detected %dms of event time after the start, want `for` (3s) to about 5s", lag/ms(1))
			}
		})
	}
}
