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

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/outcome"
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

// Emitter publishes an event with a given id; *bus.Bus is one.
type Emitter interface {
	Emit(ctx context.Context, id string, data events.Data) (events.Meta, error)
}

// Handler handles the correlator's events one at a time.
type Handler struct {
	log     *slog.Logger
	groups  *grouping.Config
	state   *state.Store
	bus     Emitter
	now     func() time.Time
	unknown *outcome.Waits
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
		unknown: outcome.NewWaits(), unknownWait: o.UnknownIncidentWait, staleClaim: StaleClaimAge}
}

// settled forgets the wait of an event that is settled for good: handled,
// or about to be dead-lettered.
func (h *Handler) settled(m events.Meta, err error) error {
	if err == nil || outcome.IsPermanent(err) {
		h.unknown.Forget(m.ID)
	}
	return err
}

// Detected handles anomaly.detected; see detected.
func (h *Handler) Detected(ctx context.Context, m events.Meta, a events.AnomalyDetected) error {
	return h.settled(m, h.detected(ctx, m, a))
}

// Resolved handles anomaly.resolved; see resolved.
func (h *Handler) Resolved(ctx context.Context, m events.Meta, r events.AnomalyResolved) error {
	return h.settled(m, h.resolved(ctx, m, r))
}

// Analyzed handles rca.completed; see analyzed.
func (h *Handler) Analyzed(ctx context.Context, m events.Meta, r events.RCACompleted) error {
	return h.settled(m, h.analyzed(ctx, m, r))
}

// RemediationStarted handles remediation.started; see remediated.
func (h *Handler) RemediationStarted(ctx context.Context, m events.Meta, d events.RemediationStarted) error {
	return h.settled(m, h.remediated(ctx, m, d.Remediation))
}

// RemediationSucceeded handles remediation.succeeded; see remediated.
func (h *Handler) RemediationSucceeded(ctx context.Context, m events.Meta, d events.RemediationSucceeded) error {
	return h.settled(m, h.remediated(ctx, m, d.Remediation))
}

// RemediationFailed handles remediation.failed; see remediated.
func (h *Handler) RemediationFailed(ctx context.Context, m events.Meta, d events.RemediationFailed) error {
	return h.settled(m, h.remediated(ctx, m, d.Remediation))
}

// Escalated handles remediation.escalated; see escalated.
func (h *Handler) Escalated(ctx context.Context, m events.Meta, e events.RemediationEscalated) error {
	return h.settled(m, h.escalated(ctx, m, e))
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
func (h *Handler) commit(ctx context.Context, m events.Meta, st *incident.State, rev uint64, res incident.Result) error {
	if res.Changed {
		if err := h.state.Save(ctx, st, rev); err != nil {
			return err
		}
	}
	for _, d := range res.Emit {
		if _, err := h.bus.Emit(ctx, events.DerivedID(d.EventType(), m.ID), d); err != nil {
			return err
		}
		h.log.Info("incident transition", "incident", st.ID, "type", d.EventType(), "status", st.Status(), "cause_event", m.ID)
	}
	return h.state.Link(ctx, st)
}

// load fetches an incident that an event names. A missing one may only be
// late (its creating event is waiting for redelivery), so the event is
// retried for a while before it is dead-lettered; see unknownIncident.
func (h *Handler) load(ctx context.Context, m events.Meta, id string) (*incident.State, uint64, error) {
	st, rev, err := h.state.Incident(ctx, id)
	if errors.Is(err, state.ErrNotFound) {
		return nil, 0, h.unknownIncident(m, err)
	}
	return st, rev, err
}

// unknownIncident retries an event whose incident is unknown until it has
// waited unknownWait, then dead-letters it with the reason. The retries
// are waits (outcome.RetryIn), not failures, so the consumer's MaxDeliver
// does not cut them short.
func (h *Handler) unknownIncident(m events.Meta, err error) error {
	waited := h.unknown.Waited(m.ID, m.Time, h.now(), h.unknownWait)
	if waited < h.unknownWait {
		return outcome.RetryIn(unknownRetryIn(waited), fmt.Errorf("%s %s: %w (waited %s of %s for its incident to be created)",
			m.Type, m.ID, err, waited.Round(time.Millisecond), h.unknownWait))
	}
	return outcome.Permanent(fmt.Errorf("%s %s: %w: its incident is unknown after waiting %s; replay it from the dead-letter stream once the incident exists",
		m.Type, m.ID, err, waited.Round(time.Second)))
}
