package remediate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/kv"
	"github.com/nats-io/nats.go/jetstream"
)

// Bucket is the JetStream KV bucket that guards executions: one key per
// execution id, created before any step runs.
const Bucket = "medic_remediations"

// bucketTTL outlives the events stream's retention, so no redelivered
// rca.completed can find its guard gone.
const bucketTTL = 30 * 24 * time.Hour

// Record states.
const (
	stateRunning  = "running"
	stateFinished = "finished"
)

// record is what the guard key holds.
type record struct {
	State string `json:"state"`
	// StartedUnixNano and DeadlineUnixNano bound a running execution: a
	// remediator that is still alive finishes (or gives up) before the
	// deadline, so a record still running after it was left by one that
	// died. Records written before these fields existed carry zeros.
	StartedUnixNano  int64 `json:"started_unix_nano,omitempty"`
	DeadlineUnixNano int64 `json:"deadline_unix_nano,omitempty"`
	// Owner and LeaseUntilUnixNano: the delivery running the execution
	// holds a lease that it renews every few seconds. A running record
	// whose lease has expired was left by a remediator that died, and is
	// taken over within seconds rather than at its deadline. An owner
	// that could not verify recovery releases its lease (LeaseUntil 1)
	// with the reason in Unverified, for the redelivery to verify again.
	// Records written before leases carry no lease: they are waited for
	// until their deadline.
	Owner              string `json:"owner,omitempty"`
	LeaseUntilUnixNano int64  `json:"lease_until_unix_nano,omitempty"`
	Unverified         string `json:"unverified,omitempty"`
	// Interruptions counts the takeovers of an expired lease: a run that
	// keeps killing its remediator is not run again without end.
	Interruptions int `json:"interruptions,omitempty"`
	// StepsDone steps have finished, the last at StepsEndUnixNano; they
	// are in Outcome.Steps and are not run again.
	StepsDone        int   `json:"steps_done,omitempty"`
	StepsEndUnixNano int64 `json:"steps_end_unix_nano,omitempty"`
	// OutcomeType and Outcome are set once finished, so a redelivery can
	// publish the same outcome event again.
	OutcomeType string             `json:"outcome_type,omitempty"`
	Outcome     events.Remediation `json:"outcome"`
}

// guard is the bucket of execution records.
type guard struct {
	store *kv.Store[record]
}

// openGuard creates the bucket when missing.
func openGuard(ctx context.Context, js jetstream.JetStream) (*guard, error) {
	store, err := kv.Open[record](ctx, kv.JetStream(js),
		kv.Config{Bucket: Bucket, Description: "remediation executions, one per incident and cause", TTL: bucketTTL})
	if err != nil {
		return nil, err
	}
	return &guard{store: store}, nil
}

// update stores r if the record is still at revision rev, and returns the
// new revision. A record moved on by someone else is an error wrapping
// kv.ErrConflict.
func (g *guard) update(ctx context.Context, id string, rev uint64, r record) (uint64, error) {
	next, err := g.store.Update(ctx, id, r, rev)
	if err != nil {
		return 0, fmt.Errorf("update execution %s: %w", id, err)
	}
	return next, nil
}

// claim creates the execution's key. taken is true, with the existing
// record, when another delivery created it first.
func (g *guard) claim(ctx context.Context, id string, r record) (rev uint64, existing record, taken bool, err error) {
	rev, err = g.store.Create(ctx, id, r)
	if err == nil {
		return rev, record{}, false, nil
	}
	if !errors.Is(err, kv.ErrExists) {
		return 0, record{}, false, fmt.Errorf("claim execution %s: %w", id, err)
	}
	existing, rev, err = g.get(ctx, id)
	return rev, existing, true, err
}

// release deletes a claim that never got to run a step, so a redelivery
// can try again.
func (g *guard) release(ctx context.Context, id string, rev uint64) error {
	return g.store.DeleteAt(ctx, id, rev)
}

// get reads the execution's record and its revision.
func (g *guard) get(ctx context.Context, id string) (record, uint64, error) {
	e, err := g.store.Get(ctx, id)
	if err != nil {
		return record{}, 0, fmt.Errorf("read execution %s: %w", id, err)
	}
	return e.Value, e.Revision, nil
}

// finish stores the outcome if the record is still at revision rev.
func (g *guard) finish(ctx context.Context, id string, rev uint64, r record) error {
	if _, err := g.store.Update(ctx, id, r, rev); err != nil {
		return fmt.Errorf("record outcome of execution %s: %w", id, err)
	}
	return nil
}
