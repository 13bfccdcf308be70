package app_test

import (
	"context"
	"net"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/medic-sre/medic/pkg/store"
	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/services/rca/internal/app"
	"github.com/medic-sre/medic/services/rca/internal/engine"
	"github.com/medic-sre/medic/services/rca/internal/synth"
)

// startService runs the real service against nats and st until the test
// ends, and waits until it is ready.
func startService(t *testing.T, natsURL string, st *store.Store) {
	t.Helper()
	opts := app.Options{Settle: 200 * time.Millisecond, Engine: engine.DefaultConfig,
		Service: service.Options{Name: "rca", NATSURL: natsURL, LogLevel: "error", ShutdownTimeout: 10 * time.Second,
			ClickHouse: store.Config{Addr: storetest.Addr(), Database: st.Database()}}}
	servicetest.Run(t, "rca", func(ctx context.Context, ln net.Listener) error {
		return app.RunWithListener(ctx, opts, ln)
	}).WaitReady(t)
}

// An incident over a bad model version, published on the bus, yields one
// rca.completed that blames the version and dates the fault at its deploy,
// even when the incident is delivered twice.
func TestIncidentToRCAOverTheBus(t *testing.T) {
	ctx := context.Background()
	nats := servicetest.StartNATS(t)
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
	startService(t, nats.URL(), st)

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
	// Both incident deliveries handled: the repeat had its chance to publish.
	servicetest.WaitConsumed(t, client.JetStream(), bus.StreamEvents, app.Consumer().Durable)
	if n := servicetest.Count(t, client.JetStream(), bus.StreamEvents, events.Subject(events.TypeRCACompleted)); n != 1 {
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
	client := servicetest.Connect(t, url)
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
