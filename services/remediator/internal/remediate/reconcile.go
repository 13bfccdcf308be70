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
)

// ErrInterrupted is the error of a step that a remediator was interrupted
// in and whose fate its successor cannot tell: it is not declared
// idempotent, and its effect is not visible (or cannot be seen).
var ErrInterrupted = errors.New("interrupted")

// reconcileStep handles the step a remediator was interrupted in, from what
// the target shows: a step whose done_when holds already took effect and is
// not run again; a step declared idempotent runs again under the same
// Idempotency-Key, which the target answers once; any other step fails
// with ErrInterrupted, for people to judge.
func (x *Executor) reconcileStep(ctx context.Context, log *slog.Logger, s *runbook.Step, vars runbook.Vars, req action.Request) (events.Step, error) {
	st := events.Step{Name: s.Name, Action: s.Action, StartedUnixNano: time.Now().UnixNano()}
	seen := "it declares no done_when check"
	if s.DoneWhen != nil && !x.DryRun {
		done, why, err := x.observe(ctx, s, vars, req)
		switch {
		case err == nil && done:
			st.Status, st.FinishedUnixNano = statusSucceeded, time.Now().UnixNano()
			st.Detail = "already done before the interruption: " + why
			return st, nil
		case err == nil:
			seen = "its effect is not visible: " + why
		default:
			seen = fmt.Sprintf("its effect could not be read: %v", err)
		}
	}
	if !s.Idempotent {
		err := fmt.Errorf("%w: a remediator stopped during step %q and %s; it is not declared idempotent, so it is not run again; check the serving system",
			ErrInterrupted, s.Name, seen)
		st.Status, st.Detail, st.FinishedUnixNano = statusFailed, err.Error(), time.Now().UnixNano()
		return st, err
	}
	log.Warn("running again an idempotent step a remediator was interrupted in", "step", s.Name, "why", seen)
	return x.runStep(ctx, s, vars, req)
}

// observe reads a step's done_when check under the step timeout.
func (x *Executor) observe(ctx context.Context, s *runbook.Step, vars runbook.Vars, req action.Request) (bool, string, error) {
	ctx, cancel := context.WithTimeout(ctx, x.stepTimeout())
	defer cancel()
	o, err := s.DoneWhen.Render(vars)
	if err != nil {
		return false, "", err
	}
	r, ok := x.Actions.Reader(o.Action)
	if !ok {
		return false, "", fmt.Errorf("done_when action %q does not read state", o.Action)
	}
	fields, err := r.Read(ctx, action.Request{ExecutionID: req.ExecutionID, Key: req.Key + "/done_when", With: o.With})
	if err != nil {
		return false, "", fmt.Errorf("%s: %w", o.Action, err)
	}
	done, why := o.Holds(fields)
	return done, why, nil
}
