package service_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/nats-io/nats.go/jetstream"
)

// A consumer that needs only NATS starts and works while ClickHouse is
// unreachable, with /readyz naming clickhouse; a consumer that needs
// ClickHouse (the default) waits for it, as before, and starts once it
// answers.
func TestNATSOnlyConsumerWorksWhileClickHouseIsDown(t *testing.T) {
	nats := servicetest.StartNATS(t)
	proxy := storetest.NewProxy(t, storetest.Addr()) // off: ClickHouse is unreachable
	cfg := storetest.Config()
	cfg.Addr = proxy.Addr()
	defer dropDatabase(cfg.Database)
	opts := service.Options{NeedsClickHouse: true, Name: "natsonly-test", NATSURL: nats.URL(), ClickHouse: cfg, LogLevel: "error", ShutdownTimeout: 10 * time.Second}
	subjects := []string{events.Subject(events.TypeChangeRecorded)}
	var detected, archived atomic.Int32
	svc := servicetest.Run(t, "natsonly-test", func(ctx context.Context, ln net.Listener) error {
		return service.RunWithListener(ctx, opts, ln, func(ctx context.Context, rt *service.Runtime) error {
			only := bus.ConsumerSpec{Stream: bus.StreamEvents, Durable: "nats-only", FilterSubjects: subjects, NATSOnly: true}
			if err := rt.Consume(ctx, only, bus.On(func(context.Context, events.Meta, events.ChangeRecorded) error { detected.Add(1); return nil })); err != nil {
				return err
			}
			both := bus.ConsumerSpec{Stream: bus.StreamEvents, Durable: "needs-clickhouse", FilterSubjects: subjects}
			return rt.Consume(ctx, both, bus.On(func(context.Context, events.Meta, events.ChangeRecorded) error { archived.Add(1); return nil }))
		})
	})
	pub := servicetest.Connect(t, nats.URL())
	ctx := context.Background()
	if _, err := pub.Emit(ctx, "n-1", events.ChangeRecorded{ChangeID: "c", Kind: "deploy", Service: "s", TimeUnixNano: 1}); err != nil {
		t.Fatal(err)
	}
	servicetest.Poll(t, "the NATS-only consumer to handle the event while ClickHouse is down", func() bool { return detected.Load() == 1 })
	code, failing, _ := probe(t, svc.URL+"/readyz")
	if code != http.StatusServiceUnavailable || failing["clickhouse"] == nil {
		t.Fatalf("/readyz = %d %v, want 503 naming clickhouse", code, failing)
	}
	if _, err := pub.JetStream().Consumer(ctx, bus.StreamEvents, "needs-clickhouse"); !errors.Is(err, jetstream.ErrConsumerNotFound) || archived.Load() != 0 {
		t.Fatalf("the consumer that needs ClickHouse started before it answered (lookup: %v, handled %d)", err, archived.Load())
	}

	proxy.On()
	svc.WaitReady(t)
	servicetest.Poll(t, "the ClickHouse consumer to handle the event once ClickHouse is up", func() bool { return archived.Load() == 1 })
}
