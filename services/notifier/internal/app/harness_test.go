package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/medic-sre/medic/pkg/store"
	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/services/notifier/internal/app"
	"github.com/medic-sre/medic/services/notifier/internal/notify/webhook"
	"github.com/nats-io/nats.go/jetstream"
)

// post is one request the webhook receiver got, and what it answered.
type post struct {
	Header http.Header
	Body   []byte
	Code   int
}

// receiver plays the webhook endpoint: it answers with codes in order (the
// last one repeats) and keeps every request.
type receiver struct {
	mu    sync.Mutex
	codes []int
	posts []post
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	code := r.codes[min(len(r.posts), len(r.codes)-1)]
	r.posts = append(r.posts, post{Header: req.Header.Clone(), Body: body, Code: code})
	r.mu.Unlock()
	w.WriteHeader(code)
}

func (r *receiver) Posts() []post {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]post(nil), r.posts...)
}

// harness is the notifier's world: NATS, a database, a webhook receiver.
type harness struct {
	js   jetstream.JetStream
	pub  *bus.Bus
	recv *receiver
	opts app.Options
}

func newHarness(t *testing.T, secret string, codes []int) *harness {
	t.Helper()
	st := storetest.New(t)
	nats := servicetest.StartNATS(t)
	h := &harness{recv: &receiver{codes: codes}}
	srv := httptest.NewServer(h.recv)
	t.Cleanup(srv.Close)
	h.pub = servicetest.Connect(t, nats.URL())
	h.js = h.pub.JetStream()
	h.opts = app.Options{
		Service: service.Options{Name: "notifier-test", NATSURL: nats.URL(), LogLevel: "error", ShutdownTimeout: 5 * time.Second,
			ClickHouse: store.Config{Addr: storetest.Addr(), Database: st.Database()}},
		Webhook:   webhook.Config{URL: srv.URL, Secret: secret, Timeout: 2 * time.Second, Attempts: 2, Backoff: 10 * time.Millisecond},
		RetryBase: 100 * time.Millisecond,
	}
	return h
}

// run starts the notifier; stop shuts it down and waits for it.
func (h *harness) run(t *testing.T) (stop func()) {
	t.Helper()
	return servicetest.Run(t, "notifier", func(ctx context.Context, ln net.Listener) error {
		return app.RunWithListener(ctx, h.opts, ln)
	}).Stop
}

// waitDrained waits until the notifier has handled every incident event.
func (h *harness) waitDrained(t *testing.T) {
	t.Helper()
	servicetest.WaitConsumed(t, h.js, bus.StreamEvents, "notifier")
}

func decode(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("not JSON: %v: %s", err, raw)
	}
	return m
}
