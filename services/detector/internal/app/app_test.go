package app

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/pkg/servicetest"
)

// Telemetry with a clean baseline, then a burst of model-server errors, then
// clean again: the detector publishes one
// anomaly.detected and later one anomaly.resolved, and a repeat of the
// burst's points (new event ids) adds no second anomaly.
func TestDetectsAndResolvesAnAnomaly(t *testing.T) {
	h := start(t, "testdata/rules.yaml")
	base := time.Now().Add(-time.Minute).Truncate(time.Second)
	baseline := append(series(base, "prediction.error", "model-server", 0, 3000, 0),
		series(base, "request.error", "gateway", 0, 3000, 1)...) // another metric: never matches
	burst := append(series(base, "prediction.error", "model-server", 3000, 5000, 1),
		series(base, "prediction.error", "canary", 3000, 5000, 1)...) // filtered out by match
	clean := series(base, "prediction.error", "model-server", 5000, 7000, 0)

	// Counters are process-wide, so the test checks how much they moved.
	firedBefore := h.metric(t, firedSeries)
	h.publish(t, "baseline", baseline)
	h.publish(t, "burst", burst)
	servicetest.Poll(t, "anomaly.detected", func() bool { return len(h.ofType(events.TypeAnomalyDetected)) > 0 })
	h.publish(t, "burst-again", burst) // same points, new id: the series is already firing
	h.publish(t, "clean", clean)
	servicetest.Poll(t, "anomaly.resolved", func() bool { return len(h.ofType(events.TypeAnomalyResolved)) > 0 })

	detected, resolved := h.ofType(events.TypeAnomalyDetected), h.ofType(events.TypeAnomalyResolved)
	if len(detected) != 1 || len(resolved) != 1 {
		t.Fatalf("got %d detected and %d resolved, want exactly one each", len(detected), len(resolved))
	}
	d := servicetest.As[events.AnomalyDetected](t, detected[0])
	r := servicetest.As[events.AnomalyResolved](t, resolved[0])
	burstStart := base.Add(3 * time.Second).UnixNano()
	checks := []struct {
		name      string
		got, want any
	}{
		{name: "rule", got: d.Rule, want: "test_error_rate"},
		{name: "service label", got: d.Labels["service"], want: "model-server"},
		{name: "model label", got: d.Labels["model"], want: "fraud"},
		{name: "no other labels", got: len(d.Labels), want: 2},
		{name: "service", got: d.Service, want: "model-server"},
		{name: "model version", got: d.ModelVersion, want: "v1"},
		{name: "severity", got: d.Severity, want: "critical"},
		// It fires at the 3600ms step, when the burst has held for more than
		// `for` (500ms): the 1s window then holds 31 bad points and 19 good.
		{name: "summary", got: d.Summary, want: "error rate 0.62 on model-server"},
		{name: "started at the burst's first point", got: d.StartedUnixNano, want: burstStart},
		{name: "resolved names the anomaly", got: r.AnomalyID, want: d.AnomalyID},
		{name: "event id derived from the anomaly", got: detected[0].ID(),
			want: events.DerivedID("anomaly.detected", d.Fingerprint, itoa(d.StartedUnixNano))},
		{name: "event subject is the fingerprint", got: detected[0].Subject(), want: d.Fingerprint},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Fatalf("got %v, want %v", c.got, c.want)
			}
		})
	}
	if fired := h.metric(t, firedSeries) - firedBefore; fired != 1 {
		t.Errorf("/metrics counts %v fired anomalies, want 1", fired)
	}
}

// A message that is not a CloudEvent goes to MEDIC_DLQ with its reason,
// naming the detector's consumer, and the good telemetry after it is still
// processed.
func TestMalformedTelemetryIsDeadLettered(t *testing.T) {
	h := start(t, "testdata/rules.yaml")
	subject := events.Subject(events.TypeTelemetryPoints)
	if _, err := h.js.Publish(h.ctx, subject, []byte(`{"points": "not a cloud event"`)); err != nil {
		t.Fatal(err)
	}
	good := series(time.Now().Truncate(time.Second), "prediction.error", "model-server", 0, 1000, 0)
	h.publish(t, "good-after-bad", good)

	dlq, err := h.js.Stream(h.ctx, bus.StreamDLQ)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{} // by consumer
	servicetest.Poll(t, "the message in MEDIC_DLQ", func() bool {
		info, err := dlq.Info(h.ctx)
		if err != nil {
			return false
		}
		for seq := info.State.FirstSeq; seq > 0 && seq <= info.State.LastSeq; seq++ {
			if msg, err := dlq.GetMsg(h.ctx, seq); err == nil && msg.Subject == "medic.dlq."+subject {
				reasons[msg.Header.Get(bus.HeaderDLQConsumer)] = msg.Header.Get(bus.HeaderDLQReason)
			}
		}
		return len(reasons) == 1
	})
	if consumer := Consumer().Durable; reasons[consumer] == "" {
		t.Errorf("no dead letter with a reason from consumer %s; got %v", consumer, reasons)
	}
	servicetest.WaitConsumed(t, h.js, bus.StreamTelemetry, Consumer().Durable)
}

// A rules file with a mistake stops the detector at start, naming the file,
// line and field, before anything connects.
func TestBadRulesFileFailsAtStart(t *testing.T) {
	tests := []struct {
		name string
		file string
		want string
	}{
		{name: "unknown field", file: "testdata/unknown_field.yaml", want: "testdata/unknown_field.yaml:9: field resolve_after: unknown field"},
		{name: "bad aggregate", file: "testdata/bad_aggregate.yaml", want: "testdata/bad_aggregate.yaml:4: field rules[0].aggregate"},
		{name: "missing file", file: "testdata/missing.yaml", want: "testdata/missing.yaml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			opts := Options{Service: service.Options{Name: "detector", NATSURL: "nats://127.0.0.1:1"}, RulesFile: tc.file}
			err := Run(ctx, opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

const firedSeries = `medic_detector_anomalies_fired_total{rule="test_error_rate"}`

// metric reads one series from /metrics; a series not yet there is 0.
func (h *harness) metric(t testing.TB, series string) float64 {
	t.Helper()
	for _, line := range strings.Split(h.body(t, "/metrics"), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	return 0
}

func (h *harness) body(t testing.TB, path string) string {
	t.Helper()
	resp, err := http.Get(h.http + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
