package service_test

import (
	"context"
	"encoding/json"
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
)

// readyzChecks GETs /readyz and returns its status and the body's checks.
func readyzChecks(t *testing.T, base string) (int, map[string]string) {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var body struct {
		Checks map[string]string `json:"checks"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Checks
}

// A service that needs NATS alone becomes ready, and its consumers (even
// one not marked NATSOnly) work, while ClickHouse is unreachable: it never
// connects to it. /readyz names each dependency it has and no other.
// Before services declared their dependencies, every service waited for
// ClickHouse and answered 503 naming it.
func TestNATSOnlyServiceIsReadyWhileClickHouseIsDown(t *testing.T) {
	nats := servicetest.StartNATS(t)
	// A ClickHouse address that accepts connections and answers nothing,
	// counting them: the service must dial it never.
	ch, dials := countingListener(t)
	cfg := storetest.Config()
	cfg.Addr = ch
	opts := service.Options{Name: "natsonly-svc", NATSURL: nats.URL(), ClickHouse: cfg, LogLevel: "error", ShutdownTimeout: 10 * time.Second}
	var handled atomic.Int32
	svc := servicetest.Run(t, "natsonly-svc", func(ctx context.Context, ln net.Listener) error {
		return service.RunWithListener(ctx, opts, ln, func(ctx context.Context, rt *service.Runtime) error {
			if rt.Store != nil {
				t.Error("a service that needs no ClickHouse got a store")
			}
			spec := bus.ConsumerSpec{Stream: bus.StreamEvents, Durable: "plain", FilterSubjects: []string{events.Subject(events.TypeChangeRecorded)}}
			return rt.Consume(ctx, spec, bus.On(func(context.Context, events.Meta, events.ChangeRecorded) error { handled.Add(1); return nil }))
		})
	})
	var checks map[string]string
	servicetest.Poll(t, "/readyz 200 with ClickHouse unreachable", func() bool {
		var code int
		code, checks = readyzChecks(t, svc.URL)
		return code == http.StatusOK
	})
	want := map[string]string{"nats": "ok", "consumer plain": "ok", "service": "ok"}
	if len(checks) != len(want) {
		t.Fatalf("/readyz checks = %v, want %v", checks, want)
	}
	for k, v := range want {
		if checks[k] != v {
			t.Fatalf("/readyz checks = %v, want %v", checks, want)
		}
	}
	pub := servicetest.Connect(t, nats.URL())
	if _, err := pub.Emit(context.Background(), "r-1", events.ChangeRecorded{ChangeID: "c", Kind: "deploy", Service: "s", TimeUnixNano: 1}); err != nil {
		t.Fatal(err)
	}
	servicetest.Poll(t, "the consumer to handle an event while ClickHouse is down", func() bool { return handled.Load() == 1 })
	if n := dials.Load(); n != 0 {
		t.Fatalf("the service opened %d connections to ClickHouse", n)
	}
}

// A service that needs ClickHouse reports each dependency on its own line
// of the body: nats ok, clickhouse with its error, and answers 503.
func TestReadyzNamesEachDependency(t *testing.T) {
	nats := servicetest.StartNATS(t)
	proxy := storetest.NewProxy(t, storetest.Addr())
	cfg := storetest.Config()
	cfg.Addr = proxy.Addr()
	defer dropDatabase(cfg.Database)
	opts := service.Options{NeedsClickHouse: true, Name: "both-svc", NATSURL: nats.URL(), ClickHouse: cfg, LogLevel: "error", ShutdownTimeout: 10 * time.Second}
	svc := servicetest.Run(t, "both-svc", func(ctx context.Context, ln net.Listener) error {
		return service.RunWithListener(ctx, opts, ln, func(context.Context, *service.Runtime) error { return nil })
	})
	servicetest.Poll(t, "/readyz 503 with nats ok and clickhouse failing", func() bool {
		code, checks := readyzChecks(t, svc.URL)
		return code == http.StatusServiceUnavailable && checks["nats"] == "ok" && len(checks["clickhouse"]) > len("error: ") &&
			checks["clickhouse"][:7] == "error: "
	})
	proxy.On()
	servicetest.Poll(t, "/readyz 200 with both ok", func() bool {
		code, checks := readyzChecks(t, svc.URL)
		return code == http.StatusOK && checks["nats"] == "ok" && checks["clickhouse"] == "ok"
	})
}

// countingListener listens on a free port, closes every connection at once
// and counts them.
func countingListener(t *testing.T) (string, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			_ = c.Close()
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); <-done })
	return ln.Addr().String(), &n
}
