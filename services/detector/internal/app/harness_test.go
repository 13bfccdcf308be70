package app

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/natsembed"
	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/pkg/store"
	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/nats-io/nats.go/jetstream"

	cloudevents "github.com/cloudevents/sdk-go/v2"
)

// harness is a real detector on embedded NATS and a fresh ClickHouse
// database, with a publisher and a recorder of anomaly events.
type harness struct {
	ctx   context.Context
	pub   *bus.Bus
	js    jetstream.JetStream
	store *store.Store
	http  string

	mu        sync.Mutex
	anomalies []cloudevents.Event
}

func start(t *testing.T, rulesFile string) *harness {
	t.Helper()
	nats, err := natsembed.Start(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nats.Shutdown)
	st := storetest.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{
		Service: service.Options{Name: "detector", NATSURL: nats.URL(), LogLevel: "error", ShutdownTimeout: 10 * time.Second,
			ClickHouse: store.Config{Addr: storetest.Addr(), Database: st.Database()}},
		RulesFile: rulesFile, EvalInterval: 100 * time.Millisecond,
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- RunWithListener(ctx, opts, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("detector stopped with: %v", err)
		}
	})
	h := &harness{ctx: ctx, store: st, http: "http://" + ln.Addr().String()}
	h.connect(t, nats.URL())
	poll(t, "detector ready", func() bool { return h.get(t, "/readyz") == http.StatusOK })
	return h
}

// connect sets up the test's own bus client and records every anomaly event.
func (h *harness) connect(t *testing.T, url string) {
	t.Helper()
	pub, err := bus.Connect(url, "medic/test", slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pub.Close() })
	sctx, cancel := context.WithTimeout(h.ctx, 10*time.Second)
	defer cancel()
	if err := pub.Setup(sctx); err != nil {
		t.Fatal(err)
	}
	h.pub, h.js = pub, pub.JetStream()
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

func (h *harness) publish(t *testing.T, id string, points []events.Point) {
	t.Helper()
	if _, err := h.pub.Emit(h.ctx, id, events.TelemetryPoints{Source: "test", Points: points}); err != nil {
		t.Fatal(err)
	}
}

// metricRows counts the points in the metrics table.
func (h *harness) metricRows(t *testing.T) uint64 {
	t.Helper()
	var n uint64
	if err := h.store.Conn().QueryRow(h.ctx, "SELECT count() FROM metrics FINAL").Scan(&n); err != nil {
		t.Logf("count metrics: %v", err)
	}
	return n
}

func (h *harness) get(t *testing.T, path string) int {
	t.Helper()
	resp, err := http.Get(h.http + path)
	if err != nil {
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(25 * time.Millisecond)
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
