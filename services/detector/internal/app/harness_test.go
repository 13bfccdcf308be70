package app

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/nats-io/nats.go/jetstream"

	cloudevents "github.com/cloudevents/sdk-go/v2"
)

// harness is a real detector on embedded NATS, with a publisher and a
// recorder of anomaly events. The detector needs no ClickHouse.
type harness struct {
	ctx  context.Context
	pub  *bus.Bus
	js   jetstream.JetStream
	http string
	opts Options

	mu        sync.Mutex
	anomalies []cloudevents.Event
}

// start runs a detector with rulesFile on its own NATS.
func start(t testing.TB, rulesFile string) *harness {
	t.Helper()
	h := newHarness(t, rulesFile)
	h.run(t)
	return h
}

// newHarness sets up NATS and the test's bus client, with no detector yet.
func newHarness(t testing.TB, rulesFile string) *harness {
	t.Helper()
	nats := servicetest.StartNATS(t)
	opts := Options{
		Service:   service.Options{Name: "detector", NATSURL: nats.URL(), LogLevel: "error", ShutdownTimeout: 10 * time.Second},
		RulesFile: rulesFile, EvalInterval: 100 * time.Millisecond,
	}
	h := &harness{ctx: context.Background(), opts: opts}
	h.connect(t, nats.URL())
	return h
}

// run starts a detector on the harness's NATS and waits until
// it is ready; a test may stop it and run another.
func (h *harness) run(t testing.TB) *servicetest.Service {
	t.Helper()
	return h.runWith(t, h.opts)
}

// runWith is run with other options.
func (h *harness) runWith(t testing.TB, opts Options) *servicetest.Service {
	t.Helper()
	svc := servicetest.Run(t, "detector", func(ctx context.Context, ln net.Listener) error {
		return RunWithListener(ctx, opts, ln)
	})
	h.http = svc.URL
	svc.WaitReady(t)
	return svc
}

// runLate starts a detector over rulesFile that evaluates every second and
// takes points up to an hour old, so that a test can publish minutes of
// event time behind the clock at once.
func runLate(t testing.TB, rulesFile string) *harness {
	t.Helper()
	h := newHarness(t, rulesFile)
	opts := h.opts
	opts.EvalInterval, opts.MaxLateness = time.Second, time.Hour
	h.runWith(t, opts)
	return h
}

// connect sets up the test's own bus client and records every anomaly event.
func (h *harness) connect(t testing.TB, url string) {
	t.Helper()
	h.pub = servicetest.Connect(t, url)
	h.js = h.pub.JetStream()
	cons, err := h.js.OrderedConsumer(h.ctx, bus.StreamEvents, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{"medic.events.anomaly.>"},
	})
	if err != nil {
		t.Fatal(err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		ev, err := events.Decode(m.Data())
		if err != nil {
			t.Errorf("the detector published an invalid event: %v", err)
			return
		}
		h.mu.Lock()
		h.anomalies = append(h.anomalies, ev)
		h.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cc.Stop)
}

// ofType returns the recorded anomaly events of one type.
func (h *harness) ofType(typ string) []cloudevents.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []cloudevents.Event
	for _, ev := range h.anomalies {
		if ev.Type() == typ {
			out = append(out, ev)
		}
	}
	return out
}

func (h *harness) publish(t testing.TB, id string, points []events.Point) {
	t.Helper()
	if _, err := h.pub.Emit(h.ctx, id, events.TelemetryPoints{Source: "test", Points: points}); err != nil {
		t.Fatal(err)
	}
}

// series makes points of one metric every 20ms in [from, to) ms after base.
func series(base time.Time, name, service string, from, to int, v float64) []events.Point {
	var out []events.Point
	for at := from; at < to; at += 20 {
		t := base.Add(time.Duration(at) * time.Millisecond)
		out = append(out, events.Point{Name: name, Value: v, TimeUnixNano: t.UnixNano(),
			Service: service, Model: "fraud", ModelVersion: "v1", Attributes: map[string]string{"route": "/predict"}})
	}
	return out
}
