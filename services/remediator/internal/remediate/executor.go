// Package remediate runs a runbook for an incident once rca.completed names
// its cause: at most once per incident, guarded by a JetStream KV key,
// publishing remediation.started and then remediation.succeeded or failed.
package remediate

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/remediator/internal/action"
	"github.com/medic-sre/medic/services/remediator/internal/runbook"
	"github.com/medic-sre/medic/services/remediator/internal/verify"
)

// Emitter publishes an event with a given id (bus.Bus does).
type Emitter interface {
	Emit(ctx context.Context, id string, data events.Data) (cloudevents.Event, error)
}

// Executor handles rca.completed events.
type Executor struct {
	Runbooks *runbook.File
	Actions  *action.Registry
	Verifier *verify.Verifier
	Bus      Emitter
	Log      *slog.Logger
	DryRun   bool

	guard *guard
}

// Open prepares the executor's KV guard on js's JetStream.
func (x *Executor) Open(ctx context.Context, b *bus.Bus) error {
	g, err := openGuard(ctx, b.JetStream())
	x.guard = g
	return err
}

// Handle runs the runbook that fits an incident's top cause, once.
func (x *Executor) Handle(ctx context.Context, ev cloudevents.Event) error {
	rca, err := events.As[events.RCACompleted](ev)
	if err != nil {
		return bus.Permanent(err)
	}
	log := x.Log.With("incident", rca.IncidentID, "event_id", ev.ID())
	rb, cause, ok := x.Runbooks.Select(rca.Causes)
	if !ok {
		log.Info("no runbook fits the top cause; leaving the incident to people", "causes", len(rca.Causes), "cause", cause.ID)
		return nil
	}
	execID := events.DerivedID("remediation", rca.IncidentID)
	rem := events.Remediation{ExecutionID: execID, IncidentID: rca.IncidentID, Runbook: rb.Name,
		CauseID: cause.ID, DryRun: x.DryRun, StartedUnixNano: time.Now().UnixNano()}
	rev, existing, taken, err := x.guard.claim(ctx, execID, record{State: stateRunning, Outcome: rem})
	if err != nil {
		return err
	}
	log = log.With("execution", execID, "runbook", rb.Name)
	if taken {
		return x.replay(ctx, log, execID, existing)
	}
	if _, err := x.Bus.Emit(ctx, events.DerivedID(events.TypeRemediationStarted, execID), events.RemediationStarted{Remediation: rem}); err != nil {
		if rerr := x.guard.release(ctx, execID, rev); rerr != nil {
			log.Error("could not release the execution after failing to announce it; it will not run", "err", rerr)
		}
		return err
	}
	log.Info("remediation started", "cause", cause.ID, "dry_run", x.DryRun)
	outcome := x.execute(ctx, log, rb, runbook.Vars{Incident: runbook.Incident{ID: rca.IncidentID, Symptom: rca.Symptom}, Cause: cause}, rem)
	return x.conclude(ctx, log, rev, outcome)
}

// replay handles a delivery for an execution that already exists: a
// finished one has its outcome published again (same id, so JetStream drops
// the copy); a running one belongs to another delivery.
func (x *Executor) replay(ctx context.Context, log *slog.Logger, execID string, r record) error {
	if r.State != stateFinished {
		log.Info("remediation already running for this incident; not starting another")
		return nil
	}
	log.Info("remediation already finished for this incident; re-publishing its outcome", "outcome", r.OutcomeType)
	return x.publishOutcome(ctx, execID, r)
}

// conclude stores the outcome before publishing it: if publishing fails, a
// redelivery finds the finished record and publishes it then.
func (x *Executor) conclude(ctx context.Context, log *slog.Logger, rev uint64, rem events.Remediation) error {
	r := record{State: stateFinished, OutcomeType: events.TypeRemediationSucceeded, Outcome: rem}
	if rem.Error != "" {
		r.OutcomeType = events.TypeRemediationFailed
	}
	if err := x.guard.finish(ctx, rem.ExecutionID, rev, r); err != nil {
		// Publishing still matters more than the record: the outcome goes
		// out now, only a later redelivery could not repeat it.
		log.Error("could not record the outcome; publishing it anyway", "err", err)
	}
	if err := x.publishOutcome(ctx, rem.ExecutionID, r); err != nil {
		return err
	}
	if rem.Error != "" {
		log.Warn("remediation failed", "err", rem.Error)
	} else {
		log.Info("remediation succeeded", "seconds", float64(rem.FinishedUnixNano-rem.StartedUnixNano)/1e9)
	}
	return nil
}

func (x *Executor) publishOutcome(ctx context.Context, execID string, r record) error {
	id := events.DerivedID(r.OutcomeType, execID)
	var data events.Data = events.RemediationSucceeded{Remediation: r.Outcome}
	if r.OutcomeType == events.TypeRemediationFailed {
		data = events.RemediationFailed{Remediation: r.Outcome}
	}
	if _, err := x.Bus.Emit(ctx, id, data); err != nil {
		return fmt.Errorf("publish outcome of execution %s: %w", execID, err)
	}
	return nil
}
