package remediate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/outcome"
	"github.com/medic-sre/medic/services/remediator/internal/incident"
	"github.com/medic-sre/medic/services/remediator/internal/runbook"
)

// DefaultIncidentWait is how long after an analysis was published the
// remediator waits for its incident to appear in the view before refusing.
const DefaultIncidentWait = 30 * time.Second

// ErrUnconfirmed is the transient error of an analysis whose incident (or
// some of whose anomalies) the view does not hold yet; ErrRefused is the
// permanent one of an analysis that cannot be acted on.
var (
	ErrUnconfirmed   = errors.New("incident not confirmed yet")
	ErrRefused       = errors.New("analysis refused")
	ErrNotPersistent = errors.New("incident has not persisted long enough")
)

// Incidents is the remediator's view of incidents (incident.View).
type Incidents interface {
	Get(ctx context.Context, id string) (r incident.Record, found bool, err error)
}

// admit checks the analysis against the view. It returns the incident's
// record and proceed=true when the analysis may be acted on; nil and
// proceed=false when there is nothing to do; an error otherwise, permanent
// for a refusal.
func (x *Executor) admit(ctx context.Context, log *slog.Logger, m events.Meta, rca events.RCACompleted) (incident.Record, bool, error) {
	r, found, err := x.Incidents.Get(ctx, rca.IncidentID)
	if err != nil {
		return r, false, err
	}
	verdict, why := incident.Admit(r, found, rca)
	if verdict != incident.Unconfirmed {
		x.pending().Forget(m.ID)
	}
	switch verdict {
	case incident.Admitted:
		return r, true, nil
	case incident.Over:
		log.Info("incident is over; nothing to do", "why", why)
		return r, false, nil
	case incident.Unconfirmed:
		// incident.opened (and incident.updated) always precede the
		// analysis on the bus, but the view's consumer may lag: wait from
		// the later of the analysis's time and when this process first saw
		// it, so that neither a restart nor a backlog that built up while
		// the remediator was down refuses an analysis the view has not
		// caught up with yet.
		if age := x.pending().Waited(m.ID, m.Time, x.now(), x.incidentWait()); age < x.incidentWait() {
			return r, false, fmt.Errorf("%w: %s (waiting %s so far)", ErrUnconfirmed, why, age.Round(time.Millisecond))
		}
		x.pending().Forget(m.ID)
		return r, false, outcome.Permanent(fmt.Errorf("%w: %s, %s after the analysis was published or first seen", ErrRefused, why, x.incidentWait()))
	default:
		return r, false, outcome.Permanent(fmt.Errorf("%w: %s", ErrRefused, why))
	}
}

// pending is the wait clock of analyses whose incident is not confirmed
// yet; an Executor's zero value makes it on first use.
func (x *Executor) pending() *outcome.Waits {
	x.waitsOnce.Do(func() { x.waits = outcome.NewWaits() })
	return x.waits
}

func (x *Executor) incidentWait() time.Duration {
	if x.IncidentWait <= 0 {
		return DefaultIncidentWait
	}
	return x.IncidentWait
}

// persisted returns ErrNotPersistent, transient, while the incident has been
// firing for less than the runbook's min_duration (DefaultMinDuration when
// no runbook fits): the redelivery reads the view again, and finds the
// incident over if it was a blip.
func (x *Executor) persisted(r incident.Record, rb *runbook.Runbook) error {
	need := runbook.DefaultMinDuration
	if rb != nil {
		need = rb.Persistence()
	}
	since := r.DetectedUnixNano
	if since == 0 {
		since = r.OpenedUnixNano
	}
	firing := x.now().Sub(time.Unix(0, since))
	if firing < need {
		// Redelivered right when it is due, not on the bus's growing
		// backoff, which made a rollback start 8 s late.
		wait := min(max(need-firing, 100*time.Millisecond), time.Second)
		return outcome.RetryIn(wait, fmt.Errorf("%w: incident %s firing for %s, acted on after %s", ErrNotPersistent, r.ID, firing.Round(time.Millisecond), need))
	}
	return nil
}
