package app_test

import (
	"context"
	"net"
	"slices"
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
	"github.com/medic-sre/medic/services/rca/internal/synthtest"
	natsgo "github.com/nats-io/nats.go"
)

// startService runs the real service against nats and st until the test
// ends, and waits until it is ready.
func startService(t *testing.T, natsURL string, st *store.Store, edit ...func(*app.Options)) *servicetest.Service {
	t.Helper()
	opts := app.Options{Settle: 200 * time.Millisecond, Engine: engine.DefaultConfig, MaxAnalysisWindow: app.DefaultMaxAnalysisWindow,
		Service: service.Options{Name: "rca", NATSURL: natsURL, LogLevel: "error", ShutdownTimeout: 10 * time.Second,
			ClickHouse: store.Config{Addr: storetest.Addr(), Database: st.Database()}}}
	for _, e := range edit {
		e(&opts)
	}
	svc := servicetest.Run(t, "rca", func(ctx context.Context, ln net.Listener) error {
		return app.RunWithListener(ctx, opts, ln)
	})
	svc.WaitReady(t)
	return svc
}

// An incident over a bad model version, then an update adding a symptom at
// the gateway, published on the bus, each yield one rca.completed with an
// analysis of its own: the opening's blames the version and dates the fault
// at its deploy, the update's covers the added anomaly only. Each trigger is
// delivered twice, and its analysis is published once.
func TestIncidentToRCAOverTheBus(t *testing.T) {
	ctx := context.Background()
	nats := servicetest.StartNATS(t)
	st := storetest.New(t)
	sc := synthtest.Scenario{Fault: synthtest.BadModelVersion, FaultAt: time.Now().Add(-30 * time.Second),
		Baseline: 3 * time.Minute, FaultFor: 30 * time.Second, RPS: 50, Seed: 11}
	data, err := synthtest.Generate(sc)
	if err != nil {
		t.Fatal(err)
	}
	if err := data.Insert(ctx, st); err != nil {
		t.Fatal(err)
	}
	startService(t, nats.URL(), st)

	client, got := subscribe(t, nats.URL())
	inc := synthtest.Incident(sc, "inc-bus-1", "prediction.error", "model-server")
	inc.OpenedUnixNano = time.Now().UnixNano() // so the service waits out its settle delay
	up := update(sc, inc)
	opened := emitTwice(t, client, "incident-event-1", inc)
	updated := emitTwice(t, client, "incident-updated-1", up)

	// One deadline for both: in a full `make test` on two cores the two
	// analyses took over 30 s.
	byTrigger := map[string]completed{}
	deadline := time.After(90 * time.Second)
	for len(byTrigger) < 2 {
		select {
		case ev := <-got:
			byTrigger[ev.Data.Trigger] = ev
		case <-deadline:
			t.Fatalf("rca.completed for %d of 2 triggers within 90s", len(byTrigger))
		}
	}
	checkRCA(t, byTrigger[events.TriggerOpened], opened, inc, []string{"a-inc-bus-1"})
	checkTopCause(t, byTrigger[events.TriggerOpened], data.Change)
	checkRCA(t, byTrigger[events.TriggerUpdated], updated, inc, up.AddedAnomalyIDs)
	if rca := byTrigger[events.TriggerUpdated].Data; rca.Symptom != "request.error@gateway" {
		t.Errorf("update analysed %s, want the added anomaly's request.error@gateway", rca.Symptom)
	}
	// Every delivery handled: the repeats had their chance to publish.
	servicetest.WaitConsumed(t, client.JetStream(), bus.StreamEvents, app.Consumer().Durable)
	if n := servicetest.Count(t, client.JetStream(), bus.StreamEvents, events.Subject(events.TypeRCACompleted)); n != 2 {
		t.Fatalf("%d rca.completed messages in the stream, want 2 (one per trigger; repeats dropped)", n)
	}
}

// update is the correlator's incident.updated when a request.error anomaly
// at the gateway joins inc, 4 s after the incident's symptom started.
func update(sc synthtest.Scenario, inc events.IncidentOpened) events.IncidentUpdated {
	started := sc.FaultAt.Add(4 * time.Second).UnixNano()
	added := events.AnomalyRef{AnomalyID: "a-gateway-errors", Rule: "request.error-high", Metric: "request.error", Value: 0.3,
		StartedUnixNano: started, DetectedUnixNano: started + int64(5*time.Second), Service: "gateway", Model: synthtest.Model}
	up := events.IncidentUpdated{IncidentOpened: inc, AddedAnomalyIDs: []string{added.AnomalyID}, UpdatedUnixNano: time.Now().UnixNano()}
	up.Anomalies = append(append([]events.AnomalyRef{}, inc.Anomalies...), added)
	return up
}

// emitTwice publishes data as event id, then delivers the same event again
// under another Nats-Msg-Id, so that the stream keeps both and the service
// handles it twice, as after a redelivery.
func emitTwice(t *testing.T, client *bus.Bus, id string, data events.Data) cloudevents.Event {
	t.Helper()
	ev, err := events.NewWithID(id, client.Source(), data)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Publish(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	raw, err := events.Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	msg := natsgo.NewMsg(events.Subject(ev.Type()))
	msg.Data = raw
	msg.Header.Set(bus.HeaderMsgID, id+"/again")
	if _, err := client.JetStream().PublishMsg(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	return ev
}

// checkRCA wants the analysis that trigger asks for, over anomalies.
func checkRCA(t *testing.T, ev completed, trigger cloudevents.Event, inc events.IncidentOpened, anomalies []string) {
	t.Helper()
	rca := ev.Data
	wantAnalysis := engine.AnalysisID(trigger.ID())
	if rca.AnalysisID != wantAnalysis || ev.Meta.ID != app.EventID(wantAnalysis) {
		t.Errorf("analysis %s in event %s, want %s in the derived %s", rca.AnalysisID, ev.Meta.ID, wantAnalysis, app.EventID(wantAnalysis))
	}
	if rca.IncidentID != inc.IncidentID || !slices.Equal(rca.AnomalyIDs, anomalies) {
		t.Errorf("rca of %s over %v, want %s over %v", rca.IncidentID, rca.AnomalyIDs, inc.IncidentID, anomalies)
	}
	if !rca.Baseline.Sufficient || rca.Confidence < 0.6 || rca.Tie || len(rca.Causes) == 0 {
		t.Errorf("baseline %+v, confidence %v, tie %v, %d causes: want a confident analysis", rca.Baseline, rca.Confidence, rca.Tie, len(rca.Causes))
	}
}

func checkTopCause(t *testing.T, ev completed, change events.ChangeRecorded) {
	t.Helper()
	rca := ev.Data
	if top := rca.Causes[0]; top.ID != "model_version:fraud@v2" || top.Kind != events.CauseModelVersion || top.ChangeID != change.ChangeID {
		t.Fatalf("top cause = %+v, want model_version:fraud@v2 with change %s", top, change.ChangeID)
	}
	if rca.FaultStartedUnixNano != change.TimeUnixNano || rca.FaultStartSource != events.FaultStartChange {
		t.Errorf("fault started = %d (%s), want the deploy's time %d (change)", rca.FaultStartedUnixNano, rca.FaultStartSource, change.TimeUnixNano)
	}
}

// completed is an rca.completed event as a test receives it.
type completed = events.Item[events.RCACompleted]

// subscribe returns a bus client and the rca.completed events it receives.
func subscribe(t *testing.T, url string) (*bus.Bus, <-chan completed) {
	t.Helper()
	client := servicetest.Connect(t, url)
	got := make(chan completed, 10)
	c, err := client.Consume(context.Background(), bus.ConsumerSpec{Stream: bus.StreamEvents, Durable: "test-rca",
		FilterSubjects: []string{events.Subject(events.TypeRCACompleted)}},
		bus.On(func(_ context.Context, m events.Meta, d events.RCACompleted) error {
			got <- completed{Meta: m, Data: d}
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Drain(context.Background()) })
	return client, got
}
