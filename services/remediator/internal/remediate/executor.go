// Package remediate runs a runbook for an incident once rca.completed names
// its cause: only for an analysis the incident view confirms, only once the
// incident has persisted, only when the gate finds the analysis sure enough
// (else it publishes remediation.escalated), and at most once per incident
// and cause, guarded by a JetStream KV key, publishing remediation.started
// and then remediation.succeeded or failed.
package remediate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/outcome"
	"github.com/medic-sre/medic/services/remediator/internal/action"
	"github.com/medic-sre/medic/services/remediator/internal/gate"
	"github.com/medic-sre/medic/services/remediator/internal/runbook"
	"github.com/medic-sre/medic/services/remediator/internal/verify"
	"github.com/nats-io/nats.go/jetstream"
)

// Emitter publishes an event with a given id (bus.Bus does).
type Emitter interface {
	Emit(ctx context.Context, id string, data events.Data) (events.Meta, error)
}

// Executor handles rca.completed events.
type Executor struct {
	// waits measures how long analyses have waited for their incident.
	waits     *outcome.Waits
	waitsOnce sync.Once
	Runbooks  *runbook.File
	Actions   *action.Registry
	Verifier  *verify.Verifier
	Bus       Emitter
	Log       *slog.Logger
	DryRun    bool
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
	// LeaseTTL is how long a running execution stays its delivery's
	// without renewal (every third of it): how soon a run whose
	// remediator died is taken over. 0 is DefaultLeaseTTL.
	LeaseTTL time.Duration

	guard *guard
}

// Open prepares the executor's KV guard on js.
func (x *Executor) Open(ctx context.Context, js jetstream.JetStream) error {
	g, err := openGuard(ctx, js)
	x.guard = g
	return err
}

// Handle acts on an analysis: it checks the analysis against the incident
// view, waits for the incident to persist past the runbook's min_duration,
// escalates to people when the gate says no, and otherwise runs the
// runbook that fits the top cause, once per (incident, cause).
func (x *Executor) Handle(ctx context.Context, m events.Meta, rca events.RCACompleted) error {
	log := x.Log.With("incident", rca.IncidentID, "analysis", rca.AnalysisID, "event_id", m.ID)
	inc, proceed, err := x.admit(ctx, log, m, rca)
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
	vars := runbook.Vars{Incident: runbook.Incident{ID: rca.IncidentID, Symptom: rca.Symptom}, Cause: cause}
	rem := events.Remediation{ExecutionID: execID, IncidentID: rca.IncidentID, Runbook: rb.Name,
		CauseID: cause.ID, DryRun: x.DryRun, StartedUnixNano: time.Now().UnixNano()}
	running := record{State: stateRunning, StartedUnixNano: rem.StartedUnixNano,
		DeadlineUnixNano: rem.StartedUnixNano + int64(x.budget(rb)), Owner: uuid.NewString(),
		LeaseUntilUnixNano: x.now().Add(x.leaseTTL()).UnixNano(), Outcome: rem}
	rev, existing, taken, err := x.guard.claim(ctx, execID, running)
	if err != nil {
		return err
	}
	log = log.With("execution", execID, "runbook", rb.Name)
	if taken {
		return x.resume(ctx, log, rb, vars, rev, existing)
	}
	if err := x.announce(ctx, rem); err != nil {
		if rerr := x.guard.release(ctx, execID, rev); rerr != nil {
			log.Error("could not release the execution after failing to announce it; it will not run", "err", rerr)
		}
		return err
	}
	log.Info("remediation started", "cause", cause.ID, "dry_run", x.DryRun)
	return x.drive(ctx, log, rb, vars, x.newLease(log, rev, running), false)
}

// announce publishes remediation.started; a repeat has the same id.
func (x *Executor) announce(ctx context.Context, rem events.Remediation) error {
	_, err := x.Bus.Emit(ctx, events.DerivedID(events.TypeRemediationStarted, rem.ExecutionID), events.RemediationStarted{Remediation: rem})
	return err
}

// drive runs the execution held by l, renewing its lease meanwhile, and
// concludes it; resumed says that a remediator was interrupted in it
// before. A recovery check that could not reach ClickHouse is no verdict:
// the execution is handed over to the redelivery, unless its deadline is
// near.
func (x *Executor) drive(ctx context.Context, log *slog.Logger, rb *runbook.Runbook, vars runbook.Vars, l *lease, resumed bool) error {
	_, r := l.current()
	// The run gives up a margin before its deadline, so that no other
	// delivery can close it while it still acts.
	end := time.Unix(0, r.DeadlineUnixNano).Add(-x.margin())
	ectx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	stop := l.keep(ctx, cancel)
	outcome, verr := x.execute(ectx, log, rb, vars, l, resumed)
	stop()
	if errors.Is(verr, verify.ErrUnverifiable) {
		if x.now().Before(end) {
			return x.handOver(ctx, log, l, verr)
		}
		outcome.Error += "; the run's deadline passed"
	}
	return x.conclude(ctx, log, l, outcome)
}

// handOver releases the lease of an execution whose recovery could not be
// checked, and returns a transient error: the redelivery takes it over at
// once and checks again, without running the steps that finished.
func (x *Executor) handOver(ctx context.Context, log *slog.Logger, l *lease, verr error) error {
	if err := l.update(ctx, func(r *record) { r.LeaseUntilUnixNano, r.Unverified = 1, verr.Error() }); err != nil {
		return fmt.Errorf("hand over execution %s: %w (after: %w)", l.id, err, verr)
	}
	log.Warn("could not check recovery; the execution is verified again on redelivery", "err", verr)
	return fmt.Errorf("execution %s: %w", l.id, verr)
}

// conclude stores the outcome in the record under the lease before
// publishing it: if publishing fails, a redelivery finds the finished
// record and publishes it then.
func (x *Executor) conclude(ctx context.Context, log *slog.Logger, l *lease, rem events.Remediation) error {
	typ := events.TypeRemediationSucceeded
	if rem.Error != "" {
		typ = events.TypeRemediationFailed
	}
	err := l.update(ctx, func(r *record) { r.State, r.OutcomeType, r.Outcome = stateFinished, typ, rem })
	_, r := l.current()
	if err != nil {
		if other, ok := x.finishedElsewhere(ctx, rem.ExecutionID); ok {
			// Another delivery closed this run; one execution has one
			// outcome, so its stays.
			log.Error("the execution was closed elsewhere before it finished; publishing that outcome", "err", err)
			return x.publishOutcome(ctx, rem.ExecutionID, other)
		}
		if errors.Is(err, errLeaseLost) {
			// The delivery that holds the execution now reports it; this
			// message stays unacked until then.
			return outcome.RetryIn(x.leaseTTL(), fmt.Errorf("%w: %w", ErrStillRunning, err))
		}
		// Publishing still matters more than the record: the outcome goes
		// out now, only a later redelivery could not repeat it.
		log.Error("could not record the outcome; publishing it anyway", "err", err)
		r.State, r.OutcomeType, r.Outcome = stateFinished, typ, rem
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
