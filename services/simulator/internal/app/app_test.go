package app

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/medic-sre/medic/pkg/store"
	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// sim is a running simulator with its NATS and ClickHouse.
type sim struct {
	base, control string // the runtime's URL and the control listener's
	js            jetstream.JetStream
	store         *store.Store
}

// startSim runs the real service and waits until /readyz says ready; the
// service stops, and must stop cleanly, when the test ends.
func startSim(t *testing.T) *sim {
	t.Helper()
	ns := servicetest.StartNATS(t)
	st := storetest.New(t)
	o := Options{
		Service: service.Options{NATSURL: ns.URL(), LogLevel: "warn", ShutdownTimeout: 10 * time.Second,
			ClickHouse: store.Config{Addr: storetest.Addr(), Database: st.Database()}},
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
	return s
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
