package remediate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/outcome"
	"github.com/medic-sre/medic/services/remediator/internal/runbook"
)

// Defaults of the execution deadline.
const (
	DefaultStepTimeout = 2 * time.Minute
	DefaultMargin      = 30 * time.Second
)

// Interrupted is the error of an execution that a remediator left running
// (it crashed, or was stopped during the run) and that another delivery
// closed without running it: past its deadline, or after too many
// interruptions. A run taken over in time is reconciled instead (see
// takeOver).
const Interrupted = "interrupted: the remediator stopped before the runbook finished; check the serving system"

// ErrStillRunning is the transient error of a delivery that finds its
// execution running before the deadline: the bus redelivers it later, when
// the run has finished (its outcome is then re-published) or is overdue
// (it is then taken over).
var ErrStillRunning = errors.New("remediation still running")

// budget is how long an execution of rb may take: every step's timeout,
// the recovery check's and the margin.
func (x *Executor) budget(rb *runbook.Runbook) time.Duration {
	d := time.Duration(len(rb.Steps))*x.stepTimeout() + x.margin()
	if rb.Verify != nil {
		d += rb.Verify.Timeout
	}
	return d
}

// MaxBudget is the longest budget of any runbook: how long a delivery may
// have to wait for a running execution.
func (x *Executor) MaxBudget() time.Duration {
	var d time.Duration
	for i := range x.Runbooks.Runbooks {
		d = max(d, x.budget(&x.Runbooks.Runbooks[i]))
	}
	return d
}

// MaxWait is the longest a delivery may be retried before it is acted on
// or refused: the wait for its incident to show in the view, the longest
// min_duration, and the longest execution budget.
func (x *Executor) MaxWait() time.Duration {
	d := runbook.DefaultMinDuration
	for i := range x.Runbooks.Runbooks {
		d = max(d, x.Runbooks.Runbooks[i].Persistence())
	}
	return x.incidentWait() + d + x.MaxBudget()
}

func (x *Executor) stepTimeout() time.Duration {
	if x.StepTimeout <= 0 {
		return DefaultStepTimeout
	}
	return x.StepTimeout
}

func (x *Executor) margin() time.Duration {
	if x.Margin <= 0 {
		return DefaultMargin
	}
	return x.Margin
}

func (x *Executor) now() time.Time {
	if x.Now == nil {
		return time.Now()
	}
	return x.Now()
}

// MaxInterruptions is how many times an execution is taken over after its
// remediator died before it is closed as failed: a runbook that kills its
// remediator is not run again without end.
const MaxInterruptions = 3

// resume handles a delivery for an execution that already exists: a
// finished one has its outcome published again (same id, so JetStream drops
// the copy); a running one is waited for while its lease lasts, then taken
// over; one left without a lease (by an older remediator) is waited for
// until its deadline, then closed as interrupted.
func (x *Executor) resume(ctx context.Context, log *slog.Logger, rb *runbook.Runbook, vars runbook.Vars, rev uint64, r record) error {
	execID := r.Outcome.ExecutionID
	if r.State == stateFinished {
		log.Info("remediation already finished for this incident; re-publishing its outcome", "outcome", r.OutcomeType)
		return x.publishOutcome(ctx, execID, r)
	}
	deadline := r.DeadlineUnixNano
	if deadline == 0 {
		// Written by a remediator that set no deadline: assume this one's.
		deadline = r.Outcome.StartedUnixNano + int64(x.budget(rb))
	}
	now := x.now().UnixNano()
	switch {
	case r.LeaseUntilUnixNano == 0 && now < deadline:
		// Never ack here: if the running delivery's remediator dies, only
		// this message is left to close the execution.
		return fmt.Errorf("%w: execution %s has until %s", ErrStillRunning, execID, time.Unix(0, deadline).UTC().Format(time.RFC3339))
	case r.LeaseUntilUnixNano == 0:
		return x.closeInterrupted(ctx, log, rb, rev, r, Interrupted)
	case now < r.LeaseUntilUnixNano:
		// Its remediator is alive; look again soon after the lease would
		// run out, which is seconds.
		wait := min(time.Duration(r.LeaseUntilUnixNano-now)+50*time.Millisecond, time.Second)
		return outcome.RetryIn(wait, fmt.Errorf("%w: execution %s is held until %s", ErrStillRunning, execID,
			time.Unix(0, r.LeaseUntilUnixNano).UTC().Format(time.RFC3339Nano)))
	case now >= deadline-int64(x.margin()) && r.Unverified != "":
		return x.closeInterrupted(ctx, log, rb, rev, r, "verify: "+r.Unverified+"; the run's deadline passed")
	case now >= deadline-int64(x.margin()):
		return x.closeInterrupted(ctx, log, rb, rev, r, Interrupted)
	case r.Unverified == "" && r.Interruptions >= MaxInterruptions:
		return x.closeInterrupted(ctx, log, rb, rev, r, fmt.Sprintf("%s (its remediator stopped %d times)", Interrupted, r.Interruptions+1))
	}
	return x.takeOver(ctx, log, rb, vars, rev, r)
}

// takeOver makes this delivery the owner of an execution whose lease ran
// out (its remediator died) or was released (recovery could not be
// checked), on the revision read, so that of two deliveries only one takes
// it; then it reconciles and finishes the run.
func (x *Executor) takeOver(ctx context.Context, log *slog.Logger, rb *runbook.Runbook, vars runbook.Vars, rev uint64, r record) error {
	next := r
	next.Owner, next.LeaseUntilUnixNano, next.Unverified = uuid.NewString(), x.now().Add(x.leaseTTL()).UnixNano(), ""
	if r.Unverified == "" {
		next.Interruptions++
	}
	nrev, err := x.guard.update(ctx, r.Outcome.ExecutionID, rev, next)
	if err != nil {
		// Another delivery moved the record on; the redelivery reads it again.
		return fmt.Errorf("take over execution %s: %w", r.Outcome.ExecutionID, err)
	}
	if r.Unverified != "" {
		log.Info("checking again the recovery of an execution that could not be verified", "unverified", r.Unverified)
	} else {
		log.Warn("a remediator stopped during this execution; taking it over", "steps_done", r.StepsDone,
			"lease_expired", time.Unix(0, r.LeaseUntilUnixNano).UTC())
	}
	// The started event may not have gone out before the interruption;
	// a repeat has the same id.
	if err := x.announce(ctx, r.Outcome); err != nil {
		return err
	}
	return x.drive(ctx, log, rb, vars, x.newLease(log, nrev, next), r.Unverified == "")
}

// closeInterrupted closes a running execution as failed with reason, on
// the revision read, so that of two deliveries (or a late original run)
// only one outcome wins. Its actions are not run again.
func (x *Executor) closeInterrupted(ctx context.Context, log *slog.Logger, rb *runbook.Runbook, rev uint64, r record, reason string) error {
	rem := r.Outcome
	rem.Error = reason
	rem.Steps = interruptedSteps(rb, r)
	rem.FinishedUnixNano = x.now().UnixNano()
	fin := r
	fin.State, fin.OutcomeType, fin.Outcome = stateFinished, events.TypeRemediationFailed, rem
	if err := x.guard.finish(ctx, rem.ExecutionID, rev, fin); err != nil {
		// Someone else moved the record on; the redelivery reads it again.
		return err
	}
	log.Error("remediation was left running past its deadline; reporting it failed without running it again",
		"reason", reason, "started", time.Unix(0, r.StartedUnixNano).UTC(), "deadline", time.Unix(0, r.DeadlineUnixNano).UTC())
	return x.publishOutcome(ctx, rem.ExecutionID, fin)
}

// interruptedSteps lists the steps the record shows finished as they
// finished, and the others as failed: whether each ran is not known, and
// "skipped" would tell people nothing changed.
func interruptedSteps(rb *runbook.Runbook, r record) []events.Step {
	done := min(r.StepsDone, len(r.Outcome.Steps), len(rb.Steps))
	steps := append([]events.Step(nil), r.Outcome.Steps[:done]...)
	for _, s := range rb.Steps[done:] {
		steps = append(steps, events.Step{Name: s.Name, Action: s.Action, Status: statusFailed,
			Detail: "interrupted: not known whether this step ran"})
	}
	return steps
}

// finishedElsewhere returns the execution's record when another delivery
// has finished it.
func (x *Executor) finishedElsewhere(ctx context.Context, execID string) (record, bool) {
	r, _, err := x.guard.get(ctx, execID)
	return r, err == nil && r.State == stateFinished
}
