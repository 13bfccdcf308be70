package app_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/natsembed"
	"github.com/medic-sre/medic/pkg/service"
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
	nats, err := natsembed.Start(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nats.Shutdown)
	h := &harness{recv: &receiver{codes: codes}}
	srv := httptest.NewServer(h.recv)
	t.Cleanup(srv.Close)
	h.pub = connect(t, nats.URL())
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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.RunWithListener(ctx, h.opts, ln) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("notifier stopped with: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
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

// msg is a stored message's headers and data.
type msg struct {
	Header map[string][]string
	Data   []byte
}

// readStream returns the messages stored in stream under subject.
func readStream(t *testing.T, js jetstream.JetStream, stream, subject string) []msg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		t.Fatal(err)
	}
	var out []msg
	for {
		batch, err := c.FetchNoWait(100)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for m := range batch.Messages() {
			out = append(out, msg{Header: m.Headers(), Data: m.Data()})
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

func decode(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("not JSON: %v: %s", err, raw)
	}
	return m
}
