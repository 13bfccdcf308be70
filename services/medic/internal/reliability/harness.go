package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/store"
	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/services/medic/internal/stack"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Options tune a harness.
type Options struct {
	BinDir string
	// Env is added to every process (e.g. SIM_RPS).
	Env []string
	// ProcessEnv is added to one process, after the harness's own.
	ProcessEnv map[string][]string
}

// ShortBaselineEnv lets the root-cause analysis call a 20 s baseline
// sufficient (it needs --window-lead plus --min-baseline of history;
// defaults 15 s + 30 s), so a run needs less healthy traffic.
var ShortBaselineEnv = []string{"RCA_WINDOW_LEAD=5s", "RCA_MIN_BASELINE=10s"}

// Harness is one stack under test with its proxies and observers.
type Harness struct {
	T     testing.TB
	Stack *stack.Stack
	// Store is a direct connection to the run's ClickHouse database,
	// around the proxy.
	Store *store.Store
	// ClickHouse is the TCP proxy the stack reaches ClickHouse through.
	ClickHouse *storetest.Proxy
	// Control records the remediator's calls to the simulator's control
	// API; Webhook records the notifier's posts.
	Control, Webhook *Recorder
	Observer         *Observer
	Log              *EventLog
	// ControlURL is the simulator's control API itself, for the faults
	// the harness injects (not counted by Control).
	ControlURL string
	work       string
	nc         *nats.Conn
}

// Start brings up a stack on a fresh database, with NATS as a process of
// its own, ClickHouse behind a TCP proxy, the simulator's control API
// behind a recording proxy for the remediator, and a recording webhook
// for the notifier. Everything stops when the test ends; the processes'
// logs are printed when it failed.
func Start(t testing.TB, o Options) *Harness {
	t.Helper()
	h := &Harness{T: t, Store: storetest.New(t), work: t.TempDir()}
	h.ClickHouse = storetest.NewProxy(t, storetest.Addr())
	h.ClickHouse.On()
	var err error
	control := freeAddr(t)
	h.ControlURL = "http://" + control
	if h.Control, err = NewProxy(h.ControlURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Control.Close() })
	if h.Webhook, err = NewReceiver(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Webhook.Close() })

	penv := map[string][]string{
		"remediator": {"SERVING_URL=" + h.Control.URL},
		"notifier":   {"WEBHOOK_URL=" + h.Webhook.URL},
	}
	for name, env := range o.ProcessEnv {
		penv[name] = append(penv[name], env...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := stack.Start(ctx, stack.Config{BinDir: o.BinDir, WorkDir: h.work, ClickHouseAddr: h.ClickHouse.Addr(),
		Database: h.Store.Database(), Env: o.Env, ProcessEnv: penv, NATSProcess: true, ControlAddr: control,
		Progress: stack.LogTo(t)})
	if err != nil {
		t.Log(stack.LogTails(h.work, 40))
		t.Fatal(err)
	}
	h.Stack = st
	t.Cleanup(h.stop)
	if h.nc, err = st.ConnectAs(bus.UserCLI); err != nil {
		t.Fatal(err)
	}
	if h.Observer, err = Observe(h.nc); err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(h.nc)
	if err != nil {
		t.Fatal(err)
	}
	h.Log = &EventLog{js: js}
	return h
}

// stop ends the observers and the stack; on failure it prints the logs.
func (h *Harness) stop() {
	if h.Observer != nil {
		h.Observer.Close()
	}
	if h.nc != nil {
		h.nc.Close()
	}
	if err := h.Stack.Stop(); err != nil {
		h.T.Logf("stack stop: %v", err)
	}
	if h.T.Failed() {
		h.T.Log(stack.LogTails(h.work, 40))
	}
}

// JetStream connects as user (a service, for its KV buckets and the
// streams' consumers; bus.UserCLI to read the streams) for the call of fn.
func (h *Harness) JetStream(user string, fn func(jetstream.JetStream) error) error {
	nc, err := h.Stack.ConnectAs(user)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	return fn(js)
}

// WaitBaseline waits until ClickHouse holds d of the simulator's model
// telemetry, so that the root-cause analysis has a baseline.
func (h *Harness) WaitBaseline(ctx context.Context, d time.Duration) {
	h.T.Helper()
	h.poll(ctx, fmt.Sprintf("%s of baseline telemetry in ClickHouse", d), d+time.Minute, func() (bool, error) {
		var span float64
		err := h.Store.Conn().QueryRow(ctx, `SELECT (max(time_unix_nano) - min(time_unix_nano)) / 1e9 FROM metrics
			WHERE name = 'predictions_rate'`).Scan(&span)
		return err == nil && span >= d.Seconds(), err
	})
}

// poll calls cond until it holds, and fails the test when timeout passes
// first, with cond's last error.
func (h *Harness) poll(ctx context.Context, what string, timeout time.Duration, cond func() (bool, error)) {
	h.T.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			h.T.Fatalf("timed out after %s waiting for %s (last error: %v)", timeout, what, err)
		}
		select {
		case <-ctx.Done():
			h.T.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Inject starts a fault of the simulator (bad_model_version,
// feature_nulls, slow_dependency) directly on its control API.
func (h *Harness) Inject(ctx context.Context, kind string) error {
	return control(ctx, http.MethodPost, h.ControlURL+"/v1/faults", map[string]string{"kind": kind})
}

// Clear ends a fault of the simulator; one that is not active is no error.
func (h *Harness) Clear(ctx context.Context, kind string) error {
	err := control(ctx, http.MethodDelete, h.ControlURL+"/v1/faults/"+kind, nil)
	if err != nil && strings.Contains(err.Error(), "404") {
		return nil
	}
	return err
}

// FailBack ends a failover to the backup model; none is no error.
func (h *Harness) FailBack(ctx context.Context) error {
	return control(ctx, http.MethodPost, h.ControlURL+"/v1/models/fraud/failover", map[string]bool{"enabled": false})
}

func control(ctx context.Context, method, url string, body any) error {
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Medic-Actor", "medic-reliability")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, raw)
	}
	return nil
}

func freeAddr(t testing.TB) string {
	t.Helper()
	// The stack's picker, so that the simulator's port is never one the
	// stack hands a service next.
	addr, err := stack.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}
