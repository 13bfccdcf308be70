package remediate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/remediator/internal/action"
	"github.com/medic-sre/medic/services/remediator/internal/runbook"
	"github.com/medic-sre/medic/services/remediator/internal/verify"
)

// Step statuses, as the remediation schema names them.
const (
	statusSucceeded = "succeeded"
	statusFailed    = "failed"
	statusSkipped   = "skipped"
)

// execute runs the steps that have not finished, then the recovery check,
// and returns the finished remediation, with Error set when it failed, and
// the recovery check's error.
func (x *Executor) execute(ctx context.Context, log *slog.Logger, rb *runbook.Runbook, vars runbook.Vars, l *lease, resumed bool) (events.Remediation, error) {
	_, r := l.current()
	rem := r.Outcome
	lastEnd, err := x.runSteps(ctx, log, rb, vars, l, resumed, &rem)
	var verr error
	if err == nil && rb.Verify != nil && !x.DryRun {
		var res verify.Result
		res, verr = x.Verifier.Wait(ctx, *rb.Verify, lastEnd)
		if verr != nil {
			err = fmt.Errorf("verify: %w", verr)
		} else {
			log.Info("recovery verified", "metric", rb.Verify.Metric, "value", res.Value, "points", res.Points)
		}
	}
	if err != nil {
		rem.Error = err.Error()
	}
	rem.FinishedUnixNano = time.Now().UnixNano()
	return rem, verr
}

// runSteps runs the steps in order from the first that has not finished,
// records each one that succeeds, and stops at the first failure; the
// steps after it are reported as skipped. When resumed, the first step run
// is the one a remediator was interrupted in, and it is reconciled with
// what the target shows (see reconcileStep). It returns when the last step
// ended: only points after it can show the effect of the remediation.
func (x *Executor) runSteps(ctx context.Context, log *slog.Logger, rb *runbook.Runbook, vars runbook.Vars, l *lease, resumed bool, rem *events.Remediation) (int64, error) {
	_, r := l.current()
	done := min(r.StepsDone, len(r.Outcome.Steps), len(rb.Steps))
	rem.Steps = append([]events.Step(nil), r.Outcome.Steps[:done]...)
	lastEnd := r.StepsEndUnixNano
	if lastEnd == 0 {
		lastEnd = time.Now().UnixNano()
	}
	var failed error
	for i := done; i < len(rb.Steps); i++ {
		s := &rb.Steps[i]
		st := events.Step{Name: s.Name, Action: s.Action, Status: statusSkipped}
		if failed == nil {
			req := action.Request{ExecutionID: rem.ExecutionID, Key: StepKey(rem.ExecutionID, i)}
			if resumed && i == done {
				st, failed = x.reconcileStep(ctx, log, s, vars, req)
			} else {
				st, failed = x.runStep(ctx, s, vars, req)
			}
			lastEnd = st.FinishedUnixNano
			log.Info("step finished", "step", s.Name, "action", s.Action, "status", st.Status, "detail", st.Detail)
			if failed == nil {
				failed = x.recordStep(ctx, log, l, st)
			}
		}
		rem.Steps = append(rem.Steps, st)
	}
	return lastEnd, failed
}

// recordStep stores a finished step in the record, so that a remediator
// taking the execution over does not run it again. A step that could not be
// recorded stops the run as a lost lease does: going on would leave the
// record a step behind what was done, and a later takeover would run that
// step again unreconciled. The takeover, once the lease lapses, reconciles
// the unrecorded step with the target (done_when, idempotency).
func (x *Executor) recordStep(ctx context.Context, log *slog.Logger, l *lease, st events.Step) error {
	err := l.update(ctx, func(r *record) {
		r.Outcome.Steps = append(r.Outcome.Steps[:r.StepsDone:r.StepsDone], st)
		r.StepsDone++
		r.StepsEndUnixNano = st.FinishedUnixNano
	})
	if err != nil && !errors.Is(err, errLeaseLost) {
		log.Warn("could not record the finished step; leaving the run to a takeover", "step", st.Name, "err", err)
		err = fmt.Errorf("%w: step %q not recorded: %w", errLeaseLost, st.Name, err)
	}
	return err
}

func (x *Executor) runStep(ctx context.Context, s *runbook.Step, vars runbook.Vars, req action.Request) (events.Step, error) {
	// The step timeout is part of the execution's deadline; see budget.
	ctx, cancel := context.WithTimeout(ctx, x.stepTimeout())
	defer cancel()
	st := events.Step{Name: s.Name, Action: s.Action, StartedUnixNano: time.Now().UnixNano()}
	detail, err := x.callAction(ctx, s, vars, req)
	st.FinishedUnixNano = time.Now().UnixNano()
	st.Detail = detail
	switch {
	case err != nil:
		st.Status, st.Detail = statusFailed, err.Error()
		return st, fmt.Errorf("step %q (%s) failed: %w", s.Name, s.Action, err)
	case x.DryRun:
		st.Status = statusSkipped
	default:
		st.Status = statusSucceeded
	}
	return st, nil
}

// StepKey is the Idempotency-Key of step i (from 0) of an execution.
func StepKey(execID string, i int) string { return fmt.Sprintf("%s/%d", execID, i) }

// callAction renders the step and calls its action, unless this is a dry run.
func (x *Executor) callAction(ctx context.Context, s *runbook.Step, vars runbook.Vars, req action.Request) (string, error) {
	with, err := s.Render(vars)
	if err != nil {
		return "", err
	}
	a, ok := x.Actions.Get(s.Action)
	if !ok {
		return "", fmt.Errorf("unknown action %q", s.Action)
	}
	if x.DryRun {
		return fmt.Sprintf("dry run: would call %s with %v", s.Action, with), nil
	}
	req.With = with
	return a.Run(ctx, req)
}
