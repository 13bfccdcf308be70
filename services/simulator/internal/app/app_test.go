package app

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/archive"
	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/medic-sre/medic/pkg/store"
	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// sim is a running simulator with its NATS, and the ClickHouse database
// Medic's archiver writes its spans and logs to.
type sim struct {
	base, control string // the runtime's URL and the control listener's
	js            jetstream.JetStream
	store         *store.Store
}

// startSim runs the real service and waits until /readyz says ready; the
// service stops, and must stop cleanly, when the test ends. Its ClickHouse
// address is a port where nothing listens: the simulator needs none, and
// must be ready without it. Medic's archiving of spans and logs
// (pkg/archive's handlers, as the archiver runs them) writes the test's
// database from the bus.
func startSim(t *testing.T) *sim {
	t.Helper()
	ns := servicetest.StartNATS(t)
	st := storetest.New(t)
	o := Options{
		Service: service.Options{NATSURL: ns.URL(), LogLevel: "warn", ShutdownTimeout: 10 * time.Second,
			ClickHouse: store.Config{Addr: closedAddr(t), Database: st.Database()}},
		RPS: 200, Seed: 7, FlushInterval: 100 * time.Millisecond, LabelDelay: 300 * time.Millisecond,
		MaxBufferedPoints: 100000, StatsKeep: time.Minute,
	}
	cln := servicetest.Listen(t)
	svc := servicetest.Run(t, "simulator", func(ctx context.Context, ln net.Listener) error {
		return RunWithListeners(ctx, o, ln, cln)
	})
	s := &sim{base: svc.URL, control: "http://" + cln.Addr().String(), store: st}
	svc.WaitReady(t)
	nc, err := nats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if s.js, err = jetstream.New(nc); err != nil {
		t.Fatal(err)
	}
	archiveSpansAndLogs(t, ns.URL(), st)
	return s
}

// closedAddr is a local address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// archiveSpansAndLogs runs the archiver's spans and logs consumers on st
// until the test ends.
func archiveSpansAndLogs(t *testing.T, natsURL string, st *store.Store) {
	t.Helper()
	b := servicetest.Connect(t, natsURL)
	ctx, cancel := context.WithCancel(context.Background())
	var consumers []*bus.Consumer
	for _, spec := range archive.Consumers() {
		if spec.Durable != archive.DurableSpans && spec.Durable != archive.DurableLogs {
			continue
		}
		c, err := b.ConsumeItems(ctx, spec, archive.Route(spec.Durable, st))
		if err != nil {
			t.Fatal(err)
		}
		consumers = append(consumers, c)
	}
	t.Cleanup(func() {
		dctx, done := context.WithTimeout(context.Background(), 10*time.Second)
		defer done()
		for _, c := range consumers {
			_ = c.Drain(dctx)
		}
		cancel()
	})
}

// telemetry reads telemetry.points events until done says it has seen enough.
func telemetry(t *testing.T, c jetstream.Consumer, done func(p events.Point) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		batch, err := events.As[events.TelemetryPoints](next(t, c, 5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if batch.Source != "simulator" || len(batch.Points) > 5000 {
			t.Fatalf("batch from %q with %d points", batch.Source, len(batch.Points))
		}
		for _, p := range batch.Points {
			if done(p) {
				return
			}
		}
	}
	t.Fatal("telemetry did not show what was expected within 20s")
}
