package remediate

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/remediator/internal/action"
	"github.com/medic-sre/medic/services/remediator/internal/runbook"
)

// Step statuses, as the remediation schema names them.
const (
	statusSucceeded = "succeeded"
	statusFailed    = "failed"
	statusSkipped   = "skipped"
)

// execute runs the steps, then the recovery check, and returns the
// finished remediation; Error is set when it failed.
func (x *Executor) execute(ctx context.Context, log *slog.Logger, rb *runbook.Runbook, vars runbook.Vars, rem events.Remediation) events.Remediation {
	lastEnd, err := x.runSteps(ctx, log, rb, vars, &rem)
	if err == nil && rb.Verify != nil && !x.DryRun {
		r, verr := x.Verifier.Wait(ctx, *rb.Verify, lastEnd)
		if verr != nil {
			err = fmt.Errorf("verify: %w", verr)
		} else {
			log.Info("recovery verified", "metric", rb.Verify.Metric, "value", r.Value, "points", r.Points)
		}
	}
	if err != nil {
		rem.Error = err.Error()
	}
	rem.FinishedUnixNano = time.Now().UnixNano()
	return rem
}

// runSteps runs the steps in order and stops at the first failure; the
// steps after it are reported as skipped. It returns when the last step
// ended: only points after it can show the effect of the remediation.
func (x *Executor) runSteps(ctx context.Context, log *slog.Logger, rb *runbook.Runbook, vars runbook.Vars, rem *events.Remediation) (int64, error) {
	var failed error
	lastEnd := time.Now().UnixNano()
	for i := range rb.Steps {
		s := &rb.Steps[i]
		st := events.Step{Name: s.Name, Action: s.Action, Status: statusSkipped}
		if failed == nil {
			st, failed = x.runStep(ctx, s, vars, action.Request{ExecutionID: rem.ExecutionID, Key: StepKey(rem.ExecutionID, i)})
			lastEnd = st.FinishedUnixNano
			log.Info("step finished", "step", s.Name, "action", s.Action, "status", st.Status, "detail", st.Detail)
		}
		rem.Steps = append(rem.Steps, st)
	}
	return lastEnd, failed
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
