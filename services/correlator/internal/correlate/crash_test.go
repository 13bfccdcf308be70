package correlate

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/servicetest"
)

var errCrash = errors.New("process killed")

// crasher is a replica's emitter that dies at its first publish of an
// input: before the event leaves (after is false) or just after it left
// (after is true). Either way the handler stops there, as a kill -9 would
// stop it, and the input is never acked.
type crasher struct {
	Emitter
	after bool
	armed atomic.Bool
}

func (c *crasher) Emit(ctx context.Context, id string, d events.Data) (events.Meta, error) {
	if !c.armed.CompareAndSwap(true, false) {
		return events.Meta{}, errCrash // dead: nothing more leaves this process
	}
	if !c.after {
		return events.Meta{}, errCrash
	}
	if _, err := c.Emitter.Emit(ctx, id, d); err != nil {
		return events.Meta{}, err
	}
	return events.Meta{}, errCrash
}

func newEvent(t *testing.T, id string, d events.Data) cloudevents.Event {
	t.Helper()
	ev, err := events.NewWithID(id, "test", d)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func resolvedEvent(t *testing.T, anomalyID string, at int64) cloudevents.Event {
	t.Helper()
	return newEvent(t, "res-"+anomalyID, events.AnomalyResolved{AnomalyID: anomalyID, Rule: "r-" + anomalyID,
		Fingerprint: "fp-" + anomalyID, Metric: "prediction.error", Value: 0, ResolvedUnixNano: at,
		Service: "model-server", Model: "fraud"})
}

func rcaEvent(t *testing.T, incidentID string, now int64) cloudevents.Event {
	t.Helper()
	return newEvent(t, "rca-1", events.RCACompleted{AnalysisID: "analysis-1", Trigger: events.TriggerOpened, Confidence: 0.9,
		Baseline: events.Baseline{Seconds: 300, Points: 300, Sufficient: true}, IncidentID: incidentID, Symptom: "latency",
		Causes:              []events.Cause{{Rank: 1, Kind: events.CauseChange, ID: "deploy-7", Score: 0.93, ChangeID: "deploy-7"}},
		WindowStartUnixNano: now - int64(5*time.Minute), WindowEndUnixNano: now, BaselineStartUnixNano: now - int64(time.Hour),
		BaselineEndUnixNano: now - int64(5*time.Minute), FaultStartedUnixNano: now - int64(2*time.Minute),
		FaultStartSource: events.FaultStartChange, AnalyzedUnixNano: now})
}

func succeededEvent(t *testing.T, incidentID string, now int64) cloudevents.Event {
	t.Helper()
	return newEvent(t, "rem-succeeded", events.RemediationSucceeded{Remediation: events.Remediation{ExecutionID: "exec-1",
		IncidentID: incidentID, Runbook: "rollback_model", StartedUnixNano: now, FinishedUnixNano: now + int64(time.Second),
		Steps: []events.Step{{Name: "rollback", Action: "model.rollback", Status: "succeeded"}}}})
}

// A replica killed between saving a transition and publishing it (or just
// after publishing it) strands nothing: the events that follow the
// transition (rca.completed, remediation.succeeded, anomaly.resolved) find
// the incident at once, and the redelivered input, handled by another
// replica, publishes exactly the events it caused, each once. The incident
// resolves with its cause and remediation.
func TestCrashBetweenSaveAndPublish(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after bool
	}{
		{name: "killed before the publish"},
		{name: "killed after the publish", after: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nats := servicetest.StartNATS(t)
			c := &crasher{after: tc.after}
			dying, st := replica(t, nats.URL(), func(b *bus.Bus) Emitter { c.Emitter = b; return c })
			fresh, _ := replica(t, nats.URL(), func(b *bus.Bus) Emitter { return b })
			ctx, now := context.Background(), time.Now().UnixNano()
			id := events.DerivedID("incident", "model=fraud", "a1")

			// kill handles ev on the dying replica, which must die at its
			// first publish; redeliver hands ev to the fresh one.
			kill := func(ev cloudevents.Event) {
				t.Helper()
				c.armed.Store(true)
				if err := handle(ctx, dying, ev); !errors.Is(err, errCrash) {
					t.Fatalf("%s on the dying replica: %v, want it killed at its publish", ev.ID(), err)
				}
			}
			handle := func(what string, ev cloudevents.Event) {
				t.Helper()
				if err := handle(ctx, fresh, ev); err != nil {
					t.Fatalf("%s (%s): %v", what, ev.ID(), err)
				}
			}

			det1, det2 := detectedEvent(t, "a1"), detectedEvent(t, "a2")
			kill(det1)
			rca := rcaEvent(t, id, now)
			if tc.after {
				// The rca answers the incident.opened that left within
				// milliseconds, long before det1's AckWait redelivers it.
				handle("rca.completed after the opener died", rca)
				handle("the opener's redelivery", det1)
			} else {
				handle("the opener's redelivery", det1)
				handle("rca.completed", rca)
			}
			kill(det2)
			handle("the joiner's redelivery", det2)
			rem := succeededEvent(t, id, now)
			kill(rem)
			handle("remediation.succeeded's redelivery", rem)
			handle("anomaly.resolved of a1", resolvedEvent(t, "a1", now+int64(time.Minute)))
			res2 := resolvedEvent(t, "a2", now+int64(2*time.Minute))
			kill(res2)
			handle("anomaly.resolved of a2, redelivered", res2)

			checkPublishedOnce(t, fresh, map[string]string{
				events.TypeIncidentOpened:       events.DerivedID(events.TypeIncidentOpened, det1.ID()),
				events.TypeIncidentUpdated:      events.DerivedID(events.TypeIncidentUpdated, det2.ID()),
				events.TypeIncidentAcknowledged: events.DerivedID(events.TypeIncidentAcknowledged, rem.ID()),
				events.TypeIncidentMitigated:    events.DerivedID(events.TypeIncidentMitigated, rem.ID()),
				events.TypeIncidentResolved:     events.DerivedID(events.TypeIncidentResolved, res2.ID()),
			})
			inc, _, err := st.Incident(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if !inc.Resolved() || inc.TopCause == nil || inc.TopCause.ID != "deploy-7" || inc.Remediation == nil ||
				inc.Remediation.Outcome != "succeeded" || inc.MitigatedUnixNano == 0 {
				t.Fatalf("incident %+v, want it resolved with its cause and remediation", inc)
			}
		})
	}
}

// checkPublishedOnce checks that each type was published exactly once, with
// the id derived from the input that caused it.
func checkPublishedOnce(t *testing.T, h *Handler, want map[string]string) {
	t.Helper()
	js := h.bus.(*bus.Bus).JetStream()
	for typ, id := range want {
		evs := servicetest.ReadEvents(t, js, bus.StreamEvents, events.Subject(typ))
		if len(evs) != 1 || evs[0].ID() != id {
			ids := make([]string, len(evs))
			for i, ev := range evs {
				ids[i] = ev.ID()
			}
			t.Errorf("%s published as %v, want once as %s", typ, ids, id)
		}
	}
}
