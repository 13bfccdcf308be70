package app

import (
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/servicetest"
)

// otlpExports is what the ingest service publishes for the model-server's
// OTLP exports every 500ms in [from, to) ms after base: counter rates
// (50 predictions/s, 35% failing when bad) and the buckets of its latency
// histogram (25 requests an export, most past 500ms when bad).
func otlpExports(base time.Time, from, to int, bad bool) []events.Point {
	errorsRate, buckets := 0.0, []float64{0, 25, 25, 25, 25}
	if bad {
		errorsRate, buckets = 17.5, []float64{0, 1, 5, 12, 25}
	}
	var out []events.Point
	for at := from; at < to; at += 500 {
		p := events.Point{TimeUnixNano: base.Add(time.Duration(at) * time.Millisecond).UnixNano(),
			Service: "model-server", Model: "fraud", ModelVersion: "v1"}
		for name, v := range map[string]float64{"predictions_rate": 50, "prediction.errors_rate": errorsRate} {
			p.Name, p.Value = name, v
			out = append(out, p)
		}
		for i, le := range []string{"10", "100", "250", "500", "+Inf"} {
			p.Name, p.Value, p.Attributes = "prediction.latency_ms_bucket", buckets[i], map[string]string{"le": le}
			out = append(out, p)
		}
	}
	return out
}

// The default rules fire on telemetry shaped as the ingest service makes it
// of OTLP metrics: a bad model version, failing 35% of predictions and slow,
// raises model_error_rate on the ratio of two counter rates and
// prediction_latency_p95 on the latency histogram's buckets; both resolve
// once the model is healthy again.
func TestDefaultRulesFireOnOTLPMetrics(t *testing.T) {
	h := newHarness(t, "")
	opts := h.opts
	opts.EvalInterval = time.Second // the default: two 500ms exports a step
	h.runWith(t, opts)
	base := time.Now().Add(-time.Minute).Truncate(time.Second)
	h.publish(t, "healthy", otlpExports(base, 0, 20_000, false))
	h.publish(t, "bad version", otlpExports(base, 20_500, 30_000, true))
	h.publish(t, "rolled back", otlpExports(base, 30_000, 50_000, false))
	servicetest.Poll(t, "two anomalies resolved", func() bool { return len(h.ofType(events.TypeAnomalyResolved)) >= 2 })
	servicetest.WaitConsumed(t, h.js, bus.StreamTelemetry, Consumer().Durable)

	want := map[string]string{ // rule: the anomaly's metric
		"model_error_rate":       "prediction.errors_rate / predictions_rate",
		"prediction_latency_p95": "prediction.latency_ms",
	}
	detected := h.ofType(events.TypeAnomalyDetected)
	if len(detected) != len(want) {
		t.Fatalf("got %d anomaly.detected, want %d", len(detected), len(want))
	}
	for _, ev := range detected {
		d := servicetest.As[events.AnomalyDetected](t, ev)
		if metric, ok := want[d.Rule]; !ok || d.Metric != metric {
			t.Errorf("rule %s fired on metric %q; want one of %v", d.Rule, d.Metric, want)
		}
		if got, wantStart := d.StartedUnixNano, base.Add(20_500*time.Millisecond).UnixNano(); got != wantStart {
			t.Errorf("%s started %v after the first bad export", d.Rule, time.Duration(got-wantStart))
		}
		if _, ok := d.Labels["le"]; ok {
			t.Errorf("%s has an le label: buckets split the series", d.Rule)
		}
	}
}
