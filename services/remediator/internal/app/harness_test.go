package app_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/natsembed"
	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/pkg/store"
	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/services/remediator/internal/app"
	"github.com/nats-io/nats.go/jetstream"
)

// call is one request the fake serving system received.
type call struct {
	Method, Path, Actor, Key string
}

// fakeServing plays the watched serving system's control API.
type fakeServing struct {
	mu    sync.Mutex
	calls []call
	first chan struct{}
}

func (f *fakeServing) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.calls = append(f.calls, call{r.Method, r.URL.Path, r.Header.Get("X-Medic-Actor"), r.Header.Get("Idempotency-Key")})
	if len(f.calls) == 1 {
		close(f.first)
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"model":"fraud","active_version":"v1"}`))
}

func (f *fakeServing) Calls() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

// harness is a running remediator with its NATS, database and serving API.
type harness struct {
	js      jetstream.JetStream
	pub     *bus.Bus
	st      *store.Store
	serving *fakeServing
}

func start(t *testing.T, dryRun bool) *harness {
	t.Helper()
	st := storetest.New(t)
	nats, err := natsembed.Start(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nats.Shutdown)
	h := &harness{st: st, serving: &fakeServing{first: make(chan struct{})}}
	srv := httptest.NewServer(h.serving)
	t.Cleanup(srv.Close)
	h.pub = connect(t, nats.URL())
	h.js = h.pub.JetStream()
	opts := app.Options{
		Service: service.Options{Name: "remediator-test", NATSURL: nats.URL(), LogLevel: "error", ShutdownTimeout: 5 * time.Second,
			ClickHouse: store.Config{Addr: storetest.Addr(), Database: st.Database()}},
		RunbooksFile: "testdata/runbooks.yaml", ServingURL: srv.URL, DryRun: dryRun,
		ActionTimeout: 2 * time.Second, VerifyInterval: 100 * time.Millisecond,
	}
	runService(t, opts)
	return h
}

func runService(t *testing.T, opts app.Options) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.RunWithListener(ctx, opts, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("remediator stopped with: %v", err)
		}
	})
}

func connect(t *testing.T, url string) *bus.Bus {
	t.Helper()
	b, err := bus.Connect(url, "medic/test", slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	return b
}

// readEvents returns the events stored on the stream under subject.
func readEvents(t *testing.T, js jetstream.JetStream, subject string) []cloudevents.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := js.OrderedConsumer(ctx, bus.StreamEvents, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		t.Fatal(err)
	}
	var out []cloudevents.Event
	for {
		batch, err := c.FetchNoWait(100)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for m := range batch.Messages() {
			ev, err := events.Decode(m.Data())
			if err != nil {
				t.Fatalf("bad event on %s: %v", subject, err)
			}
			out = append(out, ev)
			n++
		}
		if n == 0 {
			return out
		}
	}
}

// waitDrained polls until the durable consumer has nothing pending or unacked.
func waitDrained(t *testing.T, js jetstream.JetStream, durable string) {
	t.Helper()
	poll(t, "consumer "+durable+" to drain", func() bool {
		c, err := js.Consumer(context.Background(), bus.StreamEvents, durable)
		if err != nil {
			return false
		}
		info, err := c.Info(context.Background())
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0 && info.Delivered.Consumer > 0
	})
}

func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
