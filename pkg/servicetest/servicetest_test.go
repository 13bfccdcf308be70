package servicetest_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/servicetest"
)

func change(id string) events.ChangeRecorded {
	return events.ChangeRecorded{ChangeID: id, Kind: "deploy", Service: "model-server", TimeUnixNano: 1}
}

// ReadEvents and Count see what was published, by exact subject and by
// wildcard; WaitConsumed returns once a consumer has handled all of it.
func TestStreamsAndConsumers(t *testing.T) {
	b := servicetest.Bus(t)
	ctx := context.Background()
	subject := events.Subject(events.TypeChangeRecorded)
	for _, id := range []string{"e1", "e2", "e3"} {
		if _, err := b.Emit(ctx, id, change(id)); err != nil {
			t.Fatal(err)
		}
	}
	evs := servicetest.ReadEvents(t, b.JetStream(), bus.StreamEvents, bus.SubjectsEvents)
	if len(evs) != 3 || evs[0].ID() != "e1" || evs[2].ID() != "e3" {
		t.Fatalf("read %d events %v, want e1..e3 in order", len(evs), evs)
	}
	if got := servicetest.As[events.ChangeRecorded](t, evs[1]); got.ChangeID != "e2" {
		t.Fatalf("second event %+v, want change e2", got)
	}
	if n := servicetest.Count(t, b.JetStream(), bus.StreamEvents, subject); n != 3 {
		t.Fatalf("count %d, want 3", n)
	}
	if n := len(servicetest.ReadStream(t, b.JetStream(), bus.StreamDLQ, bus.SubjectsDLQ)); n != 0 {
		t.Fatalf("%d dead letters, want none", n)
	}
	var handled atomic.Int32
	c, err := b.Consume(ctx, bus.ConsumerSpec{Stream: bus.StreamEvents, Durable: "st", FilterSubjects: []string{subject}},
		bus.On(func(context.Context, events.Meta, events.ChangeRecorded) error { handled.Add(1); return nil }))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Drain(ctx) }()
	servicetest.WaitConsumed(t, b.JetStream(), bus.StreamEvents, "st")
	if n := handled.Load(); n != 3 {
		t.Fatalf("handled %d events after WaitConsumed, want 3", n)
	}
}

// Run serves until the test stops it, and Stop waits for it.
func TestRun(t *testing.T) {
	var stopped atomic.Bool
	s := servicetest.Run(t, "test service", func(ctx context.Context, ln net.Listener) error {
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {})}
		go func() { <-ctx.Done(); _ = srv.Close() }()
		err := srv.Serve(ln)
		stopped.Store(true)
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	})
	s.WaitReady(t)
	s.Stop()
	if !stopped.Load() {
		t.Fatal("Stop returned before the service stopped")
	}
	if code := servicetest.Status(s.URL + "/readyz"); code != 0 {
		t.Fatalf("status %d after Stop, want no answer", code)
	}
	s.Stop()
}
