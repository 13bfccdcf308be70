// Package correlate is the correlator's event handler: it turns anomaly,
// RCA, remediation and escalation events into incident transitions and makes each one
// durable in order (stored state, then published events, then pointers), so
// that the message is acked only once all of them happened.
package correlate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/correlator/internal/grouping"
	"github.com/medic-sre/medic/services/correlator/internal/incident"
	"github.com/medic-sre/medic/services/correlator/internal/state"
)

// Durable is the correlator's consumer name on MEDIC_EVENTS.
const Durable = "correlator"

// Types are the event types the correlator handles.
var Types = []string{
	events.TypeAnomalyDetected, events.TypeAnomalyResolved, events.TypeRCACompleted,
	events.TypeRemediationStarted, events.TypeRemediationSucceeded, events.TypeRemediationFailed,
	events.TypeRemediationEscalated,
}

// Spec is the correlator's durable consumer.
func Spec() bus.ConsumerSpec {
	subjects := make([]string, len(Types))
	for i, t := range Types {
		subjects[i] = events.Subject(t)
	}
	// 16 healthy deliveries span about 2.5 minutes of backoff, longer than
	// StaleClaimAge, so an anomaly waiting on an unsaved group claim is not
	// dead-lettered before it may take the group over.
	return bus.ConsumerSpec{Stream: bus.StreamEvents, Durable: Durable, FilterSubjects: subjects, MaxDeliver: 16}
}

// Emitter publishes an event with a given id; *bus.Bus is one.
type Emitter interface {
	Emit(ctx context.Context, id string, data events.Data) (cloudevents.Event, error)
}

// Handler handles the correlator's events one at a time.
type Handler struct {
	log     *slog.Logger
	groups  *grouping.Config
	state   *state.Store
	bus     Emitter
	now     func() time.Time
	unknown *bus.Waits
	// unknownWait is how long an event whose incident is unknown is
	// retried (UnknownIncidentWait unless Options say otherwise).
	unknownWait time.Duration
	// staleClaim is how old a group claim must be before an incident that
	// never got saved behind it is given up on.
	staleClaim time.Duration
}

// StaleClaimAge is how long a group claim may stand with no incident saved
// behind it before another anomaly takes the group over. An opener that
// crashed mid-way is redelivered after its AckWait (30 s) and completes by
// itself well within it; taking over sooner could open two incidents for
// one fault.
const StaleClaimAge = 2 * time.Minute

// Options tune a Handler; zero values take the defaults.
type Options struct {
	// UnknownIncidentWait replaces UnknownIncidentWait (tests shorten it).
	UnknownIncidentWait time.Duration
}

// New returns a Handler.
func New(log *slog.Logger, groups *grouping.Config, st *state.Store, b Emitter, o Options) *Handler {
	if o.UnknownIncidentWait <= 0 {
		o.UnknownIncidentWait = UnknownIncidentWait
	}
	return &Handler{log: log, groups: groups, state: st, bus: b, now: time.Now,
		unknown: bus.NewWaits(), unknownWait: o.UnknownIncidentWait, staleClaim: StaleClaimAge}
}

// Handle is the bus.Handler of the correlator's consumer.
func (h *Handler) Handle(ctx context.Context, ev cloudevents.Event) error {
	err := h.dispatch(ctx, ev)
	if err == nil || bus.IsPermanent(err) {
		h.unknown.Forget(ev.ID())
	}
	return err
}

func (h *Handler) dispatch(ctx context.Context, ev cloudevents.Event) error {
	switch ev.Type() {
	case events.TypeAnomalyDetected:
		return h.detected(ctx, ev)
	case events.TypeAnomalyResolved:
		return h.resolved(ctx, ev)
	case events.TypeRCACompleted:
		return h.analyzed(ctx, ev)
	case events.TypeRemediationStarted, events.TypeRemediationSucceeded, events.TypeRemediationFailed:
		return h.remediated(ctx, ev)
	case events.TypeRemediationEscalated:
		return h.escalated(ctx, ev)
	}
	return bus.Permanent(fmt.Errorf("correlator does not handle %s (check the consumer's filter subjects)", ev.Type()))
}

// commit makes a step durable, in the order that survives a crash between
// any two effects: the stored state first (its revision check fails the step
// if another replica saved the incident since it was loaded), then the
// events, then the pointers. An event published before its state was saved
// would let the events it causes (rca.completed, remediation.*) arrive for
// an incident nobody knows. Saved state without its events is harmless: the
// state records which input caused each transition, so the input's
// redelivery publishes the same events again, with the same derived ids.
// The incidents row is no part of it: the archiver writes each saved
// state, so a ClickHouse outage does not hold the lifecycle back.
func (h *Handler) commit(ctx context.Context, ev cloudevents.Event, st *incident.State, rev uint64, res incident.Result) error {
	if res.Changed {
		if err := h.state.Save(ctx, st, rev); err != nil {
			return err
		}
	}
	for _, d := range res.Emit {
		if _, err := h.bus.Emit(ctx, events.DerivedID(d.EventType(), ev.ID()), d); err != nil {
			return err
		}
		h.log.Info("incident transition", "incident", st.ID, "type", d.EventType(), "status", st.Status(), "cause_event", ev.ID())
	}
	return h.state.Link(ctx, st)
}

// load fetches an incident that an event names. A missing one may only be
// late (its creating event is waiting for redelivery), so the event is
// retried for a while before it is dead-lettered; see unknownIncident.
func (h *Handler) load(ctx context.Context, ev cloudevents.Event, id string) (*incident.State, uint64, error) {
	st, rev, err := h.state.Incident(ctx, id)
	if errors.Is(err, state.ErrNotFound) {
		return nil, 0, h.unknownIncident(ev, err)
	}
	return st, rev, err
}

// unknownIncident retries an event whose incident is unknown until it has
// waited unknownWait, then dead-letters it with the reason. The retries
// are waits (bus.RetryIn), not failures, so the consumer's MaxDeliver does
// not cut them short.
func (h *Handler) unknownIncident(ev cloudevents.Event, err error) error {
	waited := h.unknown.Waited(ev, h.now(), h.unknownWait)
	if waited < h.unknownWait {
		return bus.RetryIn(unknownRetryIn(waited), fmt.Errorf("%s %s: %w (waited %s of %s for its incident to be created)",
			ev.Type(), ev.ID(), err, waited.Round(time.Millisecond), h.unknownWait))
	}
	return bus.Permanent(fmt.Errorf("%s %s: %w: its incident is unknown after waiting %s; replay it from %s once the incident exists",
		ev.Type(), ev.ID(), err, waited.Round(time.Second), bus.StreamDLQ))
}

func decode[T events.Data](ev cloudevents.Event) (T, error) {
	d, err := events.As[T](ev)
	if err != nil {
		return d, bus.Permanent(err)
	}
	return d, nil
}
