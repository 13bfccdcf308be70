// Package remediate runs a runbook for an incident once rca.completed names
// its cause: only for an analysis the incident view confirms, only once the
// incident has persisted, only when the gate finds the analysis sure enough
// (else it publishes remediation.escalated), and at most once per incident
// and cause, guarded by a JetStream KV key, publishing remediation.started
// and then remediation.succeeded or failed.
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
	"github.com/medic-sre/medic/services/remediator/internal/gate"
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
	// StepTimeout bounds each step. With the verify timeout and Margin it
	// makes an execution's deadline (see budget).
	StepTimeout time.Duration
	// Margin is added to an execution's deadline for the KV writes, the
	// publishing and clock differences between replicas.
	Margin time.Duration
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Incidents is the view an analysis is checked against before anything
	// is done for it.
	Incidents Incidents
	// IncidentWait bounds the wait for an analysis's incident to show in
	// the view; 0 is DefaultIncidentWait.
	IncidentWait time.Duration
	// Gate holds the confidence and margin below which the incident is
	// escalated to people instead of acted on.
	Gate gate.Thresholds

	guard *guard
}

// Open prepares the executor's KV guard on js's JetStream.
func (x *Executor) Open(ctx context.Context, b *bus.Bus) error {
	g, err := openGuard(ctx, b.JetStream())
	x.guard = g
	return err
}

// Handle acts on an analysis: it checks the analysis against the incident
// view, waits for the incident to persist past the runbook's min_duration,
// escalates to people when the gate says no, and otherwise runs the
// runbook that fits the top cause, once per (incident, cause).
func (x *Executor) Handle(ctx context.Context, ev cloudevents.Event) error {
	rca, err := events.As[events.RCACompleted](ev)
	if err != nil {
		return bus.Permanent(err)
	}
	log := x.Log.With("incident", rca.IncidentID, "analysis", rca.AnalysisID, "event_id", ev.ID())
	inc, proceed, err := x.admit(ctx, log, ev, rca)
	if err != nil || !proceed {
		return err
	}
	rb, cause, _ := x.Runbooks.Select(rca.Causes)
	if err := x.persisted(inc, rb); err != nil {
		return err
	}
	if d := gate.Check(rca, cause, rb, x.Gate); !d.Act {
		return x.escalate(ctx, log, rca, cause, rb, d)
	}
	return x.run(ctx, log, rca, rb, cause)
}

// run runs rb for cause, guarded so that it runs once per (incident, cause).
func (x *Executor) run(ctx context.Context, log *slog.Logger, rca events.RCACompleted, rb *runbook.Runbook, cause events.Cause) error {
	execID := ExecutionID(rca.IncidentID, cause)
	rem := events.Remediation{ExecutionID: execID, IncidentID: rca.IncidentID, Runbook: rb.Name,
		CauseID: cause.ID, DryRun: x.DryRun, StartedUnixNano: time.Now().UnixNano()}
	deadline := rem.StartedUnixNano + int64(x.budget(rb))
	running := record{State: stateRunning, StartedUnixNano: rem.StartedUnixNano, DeadlineUnixNano: deadline, Outcome: rem}
	rev, existing, taken, err := x.guard.claim(ctx, execID, running)
	if err != nil {
		return err
	}
	log = log.With("execution", execID, "runbook", rb.Name)
	if taken {
		return x.resume(ctx, log, rb, rev, existing)
	}
	if _, err := x.Bus.Emit(ctx, events.DerivedID(events.TypeRemediationStarted, execID), events.RemediationStarted{Remediation: rem}); err != nil {
		if rerr := x.guard.release(ctx, execID, rev); rerr != nil {
			log.Error("could not release the execution after failing to announce it; it will not run", "err", rerr)
		}
		return err
	}
	log.Info("remediation started", "cause", cause.ID, "dry_run", x.DryRun)
	// The run gives up a margin before its deadline, so that no other
	// delivery can take it over while it still acts.
	ectx, cancel := context.WithDeadline(ctx, time.Unix(0, deadline).Add(-x.margin()))
	defer cancel()
	outcome := x.execute(ectx, log, rb, runbook.Vars{Incident: runbook.Incident{ID: rca.IncidentID, Symptom: rca.Symptom}, Cause: cause}, rem)
	return x.conclude(ctx, log, rev, running, outcome)
}

// conclude stores the outcome in the running record (at revision rev)
// before publishing it: if publishing fails, a redelivery finds the
// finished record and publishes it then.
func (x *Executor) conclude(ctx context.Context, log *slog.Logger, rev uint64, running record, rem events.Remediation) error {
	r := running
	r.State, r.OutcomeType, r.Outcome = stateFinished, events.TypeRemediationSucceeded, rem
	if rem.Error != "" {
		r.OutcomeType = events.TypeRemediationFailed
	}
	if err := x.guard.finish(ctx, rem.ExecutionID, rev, r); err != nil {
		if other, ok := x.finishedElsewhere(ctx, rem.ExecutionID); ok {
			// Past its deadline, another delivery declared this run
			// interrupted; one execution has one outcome, so its stays.
			log.Error("the execution was taken over as interrupted before it finished; publishing that outcome", "err", err)
			return x.publishOutcome(ctx, rem.ExecutionID, other)
		}
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
