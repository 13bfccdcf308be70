package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/archive"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/medic-sre/medic/pkg/store"
	"github.com/medic-sre/medic/pkg/storetest"
)

func readyz(t *testing.T, base string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// A service started while ClickHouse is down says so on /readyz, keeps
// retrying, becomes ready when ClickHouse comes up, and loses nothing that
// was published meanwhile.
func TestStartsWhileClickHouseDownAndLosesNothing(t *testing.T) {
	nats := servicetest.StartNATS(t)
	proxy := storetest.NewProxy(t, storetest.Addr())
	cfg := storetest.Config()
	cfg.Addr = proxy.Addr()
	opts := service.Options{NeedsClickHouse: true, Name: "archiver-test", NATSURL: nats.URL(), ClickHouse: cfg, LogLevel: "error", ShutdownTimeout: 10 * time.Second}
	svc := servicetest.Run(t, "archiver", func(ctx context.Context, ln net.Listener) error {
		return service.RunWithListener(ctx, opts, ln, func(ctx context.Context, rt *service.Runtime) error {
			spec := archive.Consumers()[0]
			return rt.ConsumeItems(ctx, spec, archive.Route(spec.Durable, rt.Store))
		})
	})
	base := svc.URL
	ctx := context.Background()
	pub := servicetest.Connect(t, nats.URL())
	const n = 20
	for i := range n {
		if _, err := pub.Emit(ctx, fmt.Sprintf("e-%d", i), events.ChangeRecorded{ChangeID: "c", Kind: "deploy", Service: "s", TimeUnixNano: 1}); err != nil {
			t.Fatal(err)
		}
	}

	var body map[string]any
	servicetest.Poll(t, "a not-ready answer naming clickhouse", func() bool {
		code, b := readyz(t, base)
		body = b
		failing, _ := b["failing"].(map[string]any)
		return code == http.StatusServiceUnavailable && failing["clickhouse"] != nil
	})
	t.Logf("while down: %v", body)

	proxy.On()
	servicetest.Poll(t, "ready", func() bool { code, _ := readyz(t, base); return code == http.StatusOK })

	direct, err := store.Open(store.Config{Addr: storetest.Addr(), Database: "default"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var got uint64
	servicetest.Poll(t, "all events archived", func() bool {
		err := direct.Conn().QueryRow(ctx, "SELECT uniq(id) FROM "+cfg.Database+".events").Scan(&got)
		return err == nil && got == n
	})
	svc.Stop()
	_ = direct.Conn().Exec(context.Background(), "DROP DATABASE IF EXISTS "+cfg.Database)
	_ = direct.Close()
}

// A ClickHouse outage while the service runs makes it not ready and holds
// the events back, however many times they are redelivered; none is
// dead-lettered, and all land once ClickHouse is back.
func TestClickHouseOutageWhileRunningLosesNothing(t *testing.T) {
	nats := servicetest.StartNATS(t)
	proxy := storetest.NewProxy(t, storetest.Addr())
	proxy.On()
	cfg := storetest.Config()
	cfg.Addr = proxy.Addr()
	opts := service.Options{NeedsClickHouse: true, Name: "archiver-test", NATSURL: nats.URL(), ClickHouse: cfg, LogLevel: "error", ShutdownTimeout: 10 * time.Second}
	spec := archive.Consumers()[0]
	spec.MaxDeliver, spec.RetryBase, spec.RetryMax = 2, 10*time.Millisecond, 50*time.Millisecond
	svc := servicetest.Run(t, "archiver", func(ctx context.Context, ln net.Listener) error {
		return service.RunWithListener(ctx, opts, ln, func(ctx context.Context, rt *service.Runtime) error {
			return rt.ConsumeItems(ctx, spec, archive.Route(spec.Durable, rt.Store))
		})
	})
	defer svc.Stop()
	svc.WaitReady(t)

	proxy.Off()
	servicetest.Poll(t, "not ready while ClickHouse is down", func() bool {
		code, _ := readyz(t, svc.URL)
		return code == http.StatusServiceUnavailable
	})
	ctx := context.Background()
	pub := servicetest.Connect(t, nats.URL())
	const n = 10
	for i := range n {
		if _, err := pub.Emit(ctx, fmt.Sprintf("o-%d", i), events.ChangeRecorded{ChangeID: "c", Kind: "deploy", Service: "s", TimeUnixNano: 1}); err != nil {
			t.Fatal(err)
		}
	}
	cons, err := pub.JetStream().Consumer(ctx, spec.Stream, spec.Durable)
	if err != nil {
		t.Fatal(err)
	}
	servicetest.Poll(t, "redeliveries well past MaxDeliver", func() bool {
		info, err := cons.Info(ctx)
		return err == nil && info.NumRedelivered > 0 && info.Delivered.Consumer >= uint64(n*(spec.MaxDeliver+2))
	})
	if dl := servicetest.Count(t, pub.JetStream(), "MEDIC_DLQ", "medic.dlq.>"); dl != 0 {
		t.Fatalf("%d events dead-lettered during the outage", dl)
	}

	proxy.On()
	direct, err := store.Open(store.Config{Addr: storetest.Addr(), Database: "default"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	servicetest.Poll(t, "every event archived after the outage", func() bool {
		var got uint64
		err := direct.Conn().QueryRow(ctx, "SELECT uniq(id) FROM "+cfg.Database+".events WHERE id LIKE 'o-%'").Scan(&got)
		return err == nil && got == n
	})
	servicetest.Poll(t, "ready again", func() bool { code, _ := readyz(t, svc.URL); return code == http.StatusOK })
	svc.Stop()
	_ = direct.Conn().Exec(context.Background(), "DROP DATABASE IF EXISTS "+cfg.Database)
}

// A consumer deleted behind the service's back fails /readyz and /healthz,
// so that an orchestrator restarts the process, which recreates it.
func TestLostConsumerFailsHealth(t *testing.T) {
	nats := servicetest.StartNATS(t)
	cfg := storetest.Config()
	opts := service.Options{NeedsClickHouse: true, Name: "archiver-test", NATSURL: nats.URL(), ClickHouse: cfg, LogLevel: "error", ShutdownTimeout: 10 * time.Second}
	spec := archive.Consumers()[0]
	svc := servicetest.Run(t, "archiver", func(ctx context.Context, ln net.Listener) error {
		return service.RunWithListener(ctx, opts, ln, func(ctx context.Context, rt *service.Runtime) error {
			return rt.ConsumeItems(ctx, spec, archive.Route(spec.Durable, rt.Store))
		})
	})
	defer func() {
		svc.Stop()
		direct, err := store.Open(store.Config{Addr: storetest.Addr(), Database: "default"}, slog.New(slog.DiscardHandler))
		if err == nil {
			_ = direct.Conn().Exec(context.Background(), "DROP DATABASE IF EXISTS "+cfg.Database)
			_ = direct.Close()
		}
	}()
	svc.WaitReady(t)
	if code := servicetest.Status(svc.URL + "/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz = %d before", code)
	}
	pub := servicetest.Connect(t, nats.URL())
	if err := pub.JetStream().DeleteConsumer(context.Background(), spec.Stream, spec.Durable); err != nil {
		t.Fatal(err)
	}
	servicetest.Poll(t, "/healthz and /readyz to fail", func() bool {
		return servicetest.Status(svc.URL+"/healthz") == http.StatusServiceUnavailable &&
			servicetest.Status(svc.URL+"/readyz") == http.StatusServiceUnavailable
	})
}
