package correlate

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/outcome"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/medic-sre/medic/services/correlator/internal/grouping"
	"github.com/medic-sre/medic/services/correlator/internal/incident"
	"github.com/medic-sre/medic/services/correlator/internal/state"
)

// gate holds the first incident.opened publish until released, so that a
// test can run another replica while this one is half-way through opening.
type gate struct {
	*bus.Bus
	once             sync.Once
	reached, release chan struct{}
}

func (g *gate) Emit(ctx context.Context, id string, d events.Data) (events.Meta, error) {
	if d.EventType() == events.TypeIncidentOpened {
		g.once.Do(func() { close(g.reached); <-g.release })
	}
	return g.Bus.Emit(ctx, id, d)
}

// replica is a correlator handler with its own NATS connection, as one
// replica of a rolling update has.
func replica(t *testing.T, url string, wrap func(*bus.Bus) Emitter) (*Handler, *state.Store) {
	t.Helper()
	b := servicetest.Connect(t, url)
	st, err := state.Open(context.Background(), b.JetStream())
	if err != nil {
		t.Fatal(err)
	}
	groups, err := grouping.Load("")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	return New(log, groups, st, wrap(b), Options{}), st
}

func detectedEvent(t *testing.T, anomalyID string) cloudevents.Event {
	t.Helper()
	now := time.Now().UnixNano()
	ev, err := events.NewWithID("det-"+anomalyID, "test", events.AnomalyDetected{AnomalyID: anomalyID, Rule: "r-" + anomalyID,
		Fingerprint: "fp-" + anomalyID, Metric: "prediction.error", Value: 1, Threshold: 0.5, Severity: events.SeverityCritical,
		StartedUnixNano: now, DetectedUnixNano: now, Service: "model-server", Model: "fraud", ModelVersion: "v2"})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// Two replicas that each get an anomaly of one group while neither has
// saved an incident yet open one incident between them: the second finds
// the group claimed, retries, and joins the first's incident.
func TestTwoReplicasOpenOneIncidentForAGroup(t *testing.T) {
	nats := servicetest.StartNATS(t)
	g := &gate{reached: make(chan struct{}), release: make(chan struct{})}
	release := sync.OnceFunc(func() { close(g.release) })
	t.Cleanup(release) // a test that fails early must not leave the first replica blocked
	first, st := replica(t, nats.URL(), func(b *bus.Bus) Emitter { g.Bus = b; return g })
	second, _ := replica(t, nats.URL(), func(b *bus.Bus) Emitter { return b })
	ctx := context.Background()
	a1, a2 := detectedEvent(t, "a1"), detectedEvent(t, "a2")

	done := make(chan error, 1)
	go func() { done <- handle(ctx, first, a1) }()
	select {
	case <-g.reached:
	case <-time.After(servicetest.PollTimeout):
		t.Fatal("the first replica never got to publish incident.opened")
	}
	errWhileOpening := handle(ctx, second, a2)
	release()
	if err := <-done; err != nil {
		t.Fatalf("first replica: %v", err)
	}
	if errWhileOpening != nil && outcome.IsPermanent(errWhileOpening) {
		t.Fatalf("second replica gave up on the anomaly: %v", errWhileOpening)
	}
	if err := handle(ctx, second, a2); err != nil { // the bus's redelivery
		t.Fatalf("second replica, redelivered: %v", err)
	}

	if n := servicetest.Count(t, g.JetStream(), bus.StreamEvents, events.Subject(events.TypeIncidentOpened)); n != 1 {
		t.Fatalf("%d incident.opened for one group, want 1", n)
	}
	id1, err1 := st.IncidentOf(ctx, "a1")
	id2, err2 := st.IncidentOf(ctx, "a2")
	if err1 != nil || err2 != nil || id1 != id2 {
		t.Fatalf("a1 in incident %q (%v), a2 in %q (%v); want one incident", id1, err1, id2, err2)
	}
}

// A group pointer that no open incident stands behind does not block the
// group for good: a resolved holder is replaced at once, and one that never
// got saved once its claim is older than staleClaim (never sooner).
func TestStaleGroupClaimIsTakenOver(t *testing.T) {
	tests := []struct {
		name        string
		holder      func(t *testing.T, st *state.Store) // leaves the group "model=fraud" claimed
		wantRetries int
	}{
		{name: "held by a resolved incident", holder: func(t *testing.T, st *state.Store) {
			inc, _ := incident.Open("old", "model=fraud", events.AnomalyDetected{AnomalyID: "a0", Severity: events.SeverityWarning}, "e0", 1)
			if _, err := inc.ResolveAnomaly(events.AnomalyResolved{AnomalyID: "a0", ResolvedUnixNano: 2}, "e1"); err != nil {
				t.Fatal(err)
			}
			if err := st.Save(context.Background(), inc, 0); err != nil {
				t.Fatal(err)
			}
			claim(t, st, "old")
		}},
		{name: "held by an incident never saved", holder: func(t *testing.T, st *state.Store) { claim(t, st, "ghost") },
			wantRetries: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nats := servicetest.StartNATS(t)
			h, st := replica(t, nats.URL(), func(b *bus.Bus) Emitter { return b })
			h.staleClaim = time.Hour
			tc.holder(t, st)
			ctx, a1 := context.Background(), detectedEvent(t, "a1")
			for i := 0; i < tc.wantRetries; i++ {
				if err := handle(ctx, h, a1); err == nil || outcome.IsPermanent(err) {
					t.Fatalf("attempt %d: %v, want a transient error", i+1, err)
				}
			}
			// The claim's age, not the number of attempts, decides: once it
			// is older than staleClaim the group is taken over.
			h.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
			if err := handle(ctx, h, a1); err != nil {
				t.Fatal(err)
			}
			if id, err := st.OpenIncident(ctx, "model=fraud"); err != nil || id != events.DerivedID("incident", "model=fraud", "a1") {
				t.Fatalf("group points at %q (%v), want the incident a1 opened", id, err)
			}
		})
	}
}

func claim(t *testing.T, st *state.Store, id string) {
	t.Helper()
	if _, _, err := st.ClaimGroup(context.Background(), "model=fraud", id); err != nil {
		t.Fatal(err)
	}
}

// handle delivers ev to h's handler of its type, as the correlator's
// routes do.
func handle(ctx context.Context, h *Handler, ev cloudevents.Event) error {
	switch ev.Type() {
	case events.TypeAnomalyDetected:
		return deliver(ctx, ev, h.Detected)
	case events.TypeAnomalyResolved:
		return deliver(ctx, ev, h.Resolved)
	case events.TypeRCACompleted:
		return deliver(ctx, ev, h.Analyzed)
	case events.TypeRemediationStarted:
		return deliver(ctx, ev, h.RemediationStarted)
	case events.TypeRemediationSucceeded:
		return deliver(ctx, ev, h.RemediationSucceeded)
	case events.TypeRemediationFailed:
		return deliver(ctx, ev, h.RemediationFailed)
	case events.TypeRemediationEscalated:
		return deliver(ctx, ev, h.Escalated)
	}
	return fmt.Errorf("no handler for %s", ev.Type())
}

func deliver[T events.Data](ctx context.Context, ev cloudevents.Event, h func(context.Context, events.Meta, T) error) error {
	d, err := events.As[T](ev)
	if err != nil {
		return err
	}
	return h(ctx, events.MetaOf(ev), d)
}
