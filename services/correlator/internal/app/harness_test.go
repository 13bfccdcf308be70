package app

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/natsembed"
	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/pkg/store"
	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/services/correlator/internal/correlate"
	"github.com/nats-io/nats.go/jetstream"
)

// env is what a user of the correlator sees: the bus it listens on and the
// ClickHouse database it writes.
type env struct {
	nats *natsembed.Server
	db   *store.Store
	pub  *bus.Bus
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv, err := natsembed.Start(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	e := &env{nats: srv, db: storetest.New(t)}
	e.pub, err = bus.Connect(srv.URL(), "medic/test", slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.pub.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.pub.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	return e
}

// start runs the real correlator until the returned stop is called, and
// waits until /readyz says it is ready.
func (e *env) start(t *testing.T) (stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Service: service.Options{Name: Name, NATSURL: e.nats.URL(), LogLevel: "error",
		ClickHouse: store.Config{Addr: storetest.Addr(), Database: e.db.Database()}, ShutdownTimeout: 10 * time.Second}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- RunWithListener(ctx, opts, ln) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("correlator Run: %v", err)
		}
	}
	t.Cleanup(stop)
	url := "http://" + ln.Addr().String() + "/readyz"
	poll(t, "correlator ready", func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return stop
}

func (e *env) emit(t *testing.T, id string, d events.Data) {
	t.Helper()
	if _, err := e.pub.Emit(context.Background(), id, d); err != nil {
		t.Fatalf("emit %s %s: %v", d.EventType(), id, err)
	}
}

// waitIdle waits until the correlator has acked the newest event on its
// subjects (and everything before it), so that the test can check outcomes
// without sleeping. Consumer pending counts lag behind the stream, so the
// check compares stream sequences instead.
func (e *env) waitIdle(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	js := e.pub.JetStream()
	stream, err := js.Stream(ctx, bus.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	var newest uint64
	for _, subject := range correlate.Spec().FilterSubjects {
		if msg, err := stream.GetLastMsgForSubject(ctx, subject); err == nil {
			newest = max(newest, msg.Sequence)
		}
	}
	poll(t, "correlator consumer idle", func() bool {
		c, err := js.Consumer(ctx, bus.StreamEvents, correlate.Durable)
		if err != nil {
			return false
		}
		info, err := c.Info(ctx)
		return err == nil && info.AckFloor.Stream >= newest && info.NumAckPending == 0
	})
}

// counts is the number of stored messages per subject in a stream.
func (e *env) counts(t *testing.T, stream, filter string) map[string]uint64 {
	t.Helper()
	s, err := e.pub.JetStream().Stream(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background(), jetstream.WithSubjectFilter(filter))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Subjects
}

func (e *env) count(t *testing.T, eventType string) uint64 {
	t.Helper()
	return e.counts(t, bus.StreamEvents, events.Subject(eventType))[events.Subject(eventType)]
}

// last is the newest event of a type on the bus.
func last[T events.Data](t *testing.T, e *env) T {
	t.Helper()
	var zero T
	s, err := e.pub.JetStream().Stream(context.Background(), bus.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := s.GetLastMsgForSubject(context.Background(), events.Subject(zero.EventType()))
	if err != nil {
		t.Fatalf("no %s on the bus: %v", zero.EventType(), err)
	}
	ev, err := events.Decode(msg.Data)
	if err != nil {
		t.Fatal(err)
	}
	return as[T](t, ev)
}

func as[T events.Data](t *testing.T, ev cloudevents.Event) T {
	t.Helper()
	d, err := events.As[T](ev)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}
