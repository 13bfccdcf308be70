package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
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

// lateProxy forwards a port to ClickHouse, but only once opened: until then
// the port refuses connections, as a ClickHouse that is down would.
func lateProxy(t *testing.T, target string) (addr string, open func()) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = l.Addr().String()
	_ = l.Close()
	return addr, func() {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("reopen %s: %v", addr, err)
		}
		t.Cleanup(func() { _ = l.Close() })
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					up, err := net.Dial("tcp", target)
					if err != nil {
						return
					}
					defer up.Close()
					go func() { _, _ = io.Copy(up, c) }()
					_, _ = io.Copy(c, up)
				}()
			}
		}()
	}
}

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
	chAddr, openClickHouse := lateProxy(t, storetest.Addr())
	cfg := storetest.Config()
	cfg.Addr = chAddr
	opts := service.Options{Name: "archiver-test", NATSURL: nats.URL(), ClickHouse: cfg, LogLevel: "error", ShutdownTimeout: 10 * time.Second}
	svc := servicetest.Run(t, "archiver", func(ctx context.Context, ln net.Listener) error {
		return service.RunWithListener(ctx, opts, ln, func(ctx context.Context, rt *service.Runtime) error {
			spec := archive.Consumers()[0]
			return rt.ConsumeBatch(ctx, spec, archive.Events(rt.Store))
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

	openClickHouse()
	servicetest.Poll(t, "ready", func() bool { code, _ := readyz(t, base); return code == http.StatusOK })

	direct, err := store.Open(store.Config{Addr: storetest.Addr(), Database: "default"}, slog.New(slog.NewJSONHandler(io.Discard, nil)))
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
