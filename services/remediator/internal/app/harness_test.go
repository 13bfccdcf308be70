package app_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/pkg/servicetest"
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
	nats := servicetest.StartNATS(t)
	h := &harness{st: st, serving: &fakeServing{first: make(chan struct{})}}
	srv := httptest.NewServer(h.serving)
	t.Cleanup(srv.Close)
	h.pub = servicetest.Connect(t, nats.URL())
	h.js = h.pub.JetStream()
	opts := app.Options{
		Service: service.Options{Name: "remediator-test", NATSURL: nats.URL(), LogLevel: "error", ShutdownTimeout: 5 * time.Second,
			ClickHouse: store.Config{Addr: storetest.Addr(), Database: st.Database()}},
		RunbooksFile: "testdata/runbooks.yaml", ServingURL: srv.URL, DryRun: dryRun,
		ActionTimeout: 2 * time.Second, VerifyInterval: 100 * time.Millisecond,
	}
	servicetest.Run(t, "remediator", func(ctx context.Context, ln net.Listener) error {
		return app.RunWithListener(ctx, opts, ln)
	})
	return h
}

// readEvents returns the events MEDIC_EVENTS holds under subject.
func (h *harness) readEvents(t *testing.T, subject string) []cloudevents.Event {
	t.Helper()
	return servicetest.ReadEvents(t, h.js, bus.StreamEvents, subject)
}

// waitDrained waits until the remediator has handled every rca.completed.
func (h *harness) waitDrained(t *testing.T) {
	t.Helper()
	servicetest.WaitConsumed(t, h.js, bus.StreamEvents, "remediator")
}
