package app_test

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
	"github.com/medic-sre/medic/services/rca/internal/app"
	"github.com/medic-sre/medic/services/rca/internal/engine"
	"github.com/medic-sre/medic/services/rca/internal/synth"
	"github.com/nats-io/nats.go/jetstream"
)

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

// startService runs the real service against nats and st until the test ends.
func startService(t *testing.T, natsURL string, st *store.Store) string {
	t.Helper()
	opts := app.Options{Settle: 200 * time.Millisecond, Engine: engine.DefaultConfig,
		Service: service.Options{Name: "rca", NATSURL: natsURL, LogLevel: "error", ShutdownTimeout: 10 * time.Second,
			ClickHouse: store.Config{Addr: storetest.Addr(), Database: st.Database()}}}
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
			t.Errorf("service: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

func ready(base string) bool {
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// An incident over a bad model version, published on the bus, yields one
// rca.completed that blames the version and dates the fault at its deploy,
// even when the incident is delivered twice.
func TestIncidentToRCAOverTheBus(t *testing.T) {
	ctx := context.Background()
	nats, err := natsembed.Start(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nats.Shutdown)
	st := storetest.New(t)
	sc := synth.Scenario{Fault: synth.BadModelVersion, FaultAt: time.Now().Add(-30 * time.Second),
		Baseline: 3 * time.Minute, FaultFor: 30 * time.Second, RPS: 50, Seed: 11}
	data, err := synth.Generate(sc)
	if err != nil {
		t.Fatal(err)
	}
	if err := data.Insert(ctx, st); err != nil {
		t.Fatal(err)
	}
	base := startService(t, nats.URL(), st)
	poll(t, "the service to be ready", func() bool { return ready(base) })

	client, got := subscribe(t, nats.URL())
	inc := synth.Incident(sc, "inc-bus-1", "prediction.error", "model-server")
	inc.OpenedUnixNano = time.Now().UnixNano() // so the service waits out its settle delay
	for _, id := range []string{"incident-event-1", "incident-event-1-redelivered"} {
		if _, err := client.Emit(ctx, id, inc); err != nil {
			t.Fatal(err)
		}
	}
	var ev cloudevents.Event
	select {
	case ev = <-got:
	case <-time.After(30 * time.Second):
		t.Fatal("no rca.completed within 30s")
	}
	checkRCA(t, ev, inc.IncidentID, data.Change)
	poll(t, "both incident deliveries handled", func() bool { return handled(ctx, t, client) >= 2 })
	if n := countRCA(ctx, t, client); n != 1 {
		t.Fatalf("%d rca.completed messages in the stream, want 1 (the repeat must be dropped)", n)
	}
}

func checkRCA(t *testing.T, ev cloudevents.Event, incidentID string, change events.ChangeRecorded) {
	t.Helper()
	if ev.ID() != app.EventID(incidentID) {
		t.Errorf("event id = %s, want the derived %s", ev.ID(), app.EventID(incidentID))
	}
	rca, err := events.As[events.RCACompleted](ev)
	if err != nil {
		t.Fatal(err)
	}
	if rca.IncidentID != incidentID || len(rca.Causes) == 0 {
		t.Fatalf("rca = %+v, want causes for %s", rca, incidentID)
	}
	if top := rca.Causes[0]; top.ID != "model_version:fraud@v2" || top.Kind != events.CauseModelVersion || top.ChangeID != change.ChangeID {
		t.Fatalf("top cause = %+v, want model_version:fraud@v2 with change %s", top, change.ChangeID)
	}
	if rca.FaultStartedUnixNano != change.TimeUnixNano {
		t.Errorf("fault started = %d, want the deploy's time %d", rca.FaultStartedUnixNano, change.TimeUnixNano)
	}
}

// subscribe returns a bus client and the rca.completed events it receives.
func subscribe(t *testing.T, url string) (*bus.Bus, <-chan cloudevents.Event) {
	t.Helper()
	client, err := bus.Connect(url, "medic/test", slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := client.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	got := make(chan cloudevents.Event, 10)
	c, err := client.Consume(context.Background(), bus.ConsumerSpec{Stream: bus.StreamEvents, Durable: "test-rca",
		FilterSubjects: []string{events.Subject(events.TypeRCACompleted)}},
		func(_ context.Context, ev cloudevents.Event) error { got <- ev; return nil })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Drain(context.Background()) })
	return client, got
}

// handled is how many incidents the rca consumer has acked.
func handled(ctx context.Context, t *testing.T, b *bus.Bus) uint64 {
	t.Helper()
	c, err := b.JetStream().Consumer(ctx, bus.StreamEvents, app.Consumer().Durable)
	if err != nil {
		return 0
	}
	info, err := c.Info(ctx)
	if err != nil || info.NumAckPending > 0 {
		return 0
	}
	return info.AckFloor.Consumer
}

// countRCA is how many rca.completed messages the stream holds.
func countRCA(ctx context.Context, t *testing.T, b *bus.Bus) uint64 {
	t.Helper()
	s, err := b.JetStream().Stream(ctx, bus.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	subject := events.Subject(events.TypeRCACompleted)
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Subjects[subject]
}
