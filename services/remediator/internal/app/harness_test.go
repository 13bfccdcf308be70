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
	"github.com/google/uuid"
	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
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
	// url is the remediator's HTTP base (/healthz, /readyz).
	url string
}

func start(t *testing.T, dryRun bool) *harness {
	t.Helper()
	return startAt(t, dryRun, storetest.Addr())
}

// startAt starts a remediator that reaches ClickHouse at chAddr (a proxy).
func startAt(t *testing.T, dryRun bool, chAddr string) *harness {
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
			ClickHouse: store.Config{Addr: chAddr, Database: st.Database()}},
		RunbooksFile: "testdata/runbooks.yaml", ServingURL: srv.URL, DryRun: dryRun,
		ActionTimeout: 2 * time.Second, VerifyInterval: 100 * time.Millisecond,
		MinConfidence: 0.6, MinMargin: 0.2, IncidentWait: 2 * time.Second,
	}
	h.url = servicetest.Run(t, "remediator", func(ctx context.Context, ln net.Listener) error {
		return app.RunWithListener(ctx, opts, ln)
	}).URL
	return h
}

// open publishes incident.opened for an incident of the given anomalies,
// detected at detected, and returns the incident id.
func (h *harness) open(t *testing.T, detected time.Time, anomalies ...string) string {
	t.Helper()
	id := "inc-" + uuid.NewString()
	o := events.IncidentOpened{IncidentID: id, GroupKey: "model-server/fraud", Title: "prediction.error high", Severity: events.SeverityCritical,
		Service: "model-server", StartedUnixNano: detected.UnixNano(), DetectedUnixNano: detected.UnixNano(), OpenedUnixNano: detected.UnixNano()}
	for _, a := range anomalies {
		o.Anomalies = append(o.Anomalies, events.AnomalyRef{AnomalyID: a, Rule: "error-high", Metric: "prediction.error", Value: 0.6, Service: "model-server"})
	}
	if _, err := h.pub.Emit(context.Background(), events.DerivedID("opened", id), o); err != nil {
		t.Fatal(err)
	}
	return id
}

// resolve publishes incident.resolved.
func (h *harness) resolve(t *testing.T, id string) {
	t.Helper()
	now := time.Now().UnixNano()
	r := events.IncidentTransition{Status: events.StatusResolved, IncidentID: id, AtUnixNano: now, ResolvedUnixNano: now}
	if _, err := h.pub.Emit(context.Background(), events.DerivedID("resolved", id), r); err != nil {
		t.Fatal(err)
	}
}

// deadLetters returns the reasons of the events dead-lettered by consumer.
func (h *harness) deadLetters(t *testing.T, consumer string) []string {
	t.Helper()
	var out []string
	for _, m := range servicetest.ReadStream(t, h.js, bus.StreamDLQ, "medic.dlq.>") {
		if m.Header.Get(bus.HeaderDLQConsumer) == consumer {
			out = append(out, m.Header.Get(bus.HeaderDLQReason))
		}
	}
	return out
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
