package remediate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
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
	// OutcomeType and Outcome are set once finished, so a redelivery can
	// publish the same outcome event again.
	OutcomeType string             `json:"outcome_type,omitempty"`
	Outcome     events.Remediation `json:"outcome"`
}

// guard wraps the KV bucket.
type guard struct {
	claims *bus.Claims[record]
}

// openGuard creates the bucket when missing.
func openGuard(ctx context.Context, js jetstream.JetStream) (*guard, error) {
	claims, err := bus.OpenClaims[record](ctx, js, Bucket, "remediation executions, one per incident", bucketTTL)
	if err != nil {
		return nil, err
	}
	return &guard{claims: claims}, nil
}

// claim creates the execution's key. taken is true, with the existing
// record, when another delivery created it first.
func (g *guard) claim(ctx context.Context, id string, r record) (rev uint64, existing record, taken bool, err error) {
	rev, err = g.claims.Claim(ctx, id, r)
	if err == nil {
		return rev, record{}, false, nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return 0, record{}, false, fmt.Errorf("claim execution %s: %w", id, err)
	}
	existing, rev, err = g.claims.Get(ctx, id)
	if err != nil {
		return 0, record{}, true, fmt.Errorf("read execution %s: %w", id, err)
	}
	return rev, existing, true, nil
}

// release deletes a claim that never got to run a step, so a redelivery
// can try again.
func (g *guard) release(ctx context.Context, id string, rev uint64) error {
	return g.claims.Release(ctx, id, rev)
}

// finish stores the outcome.
func (g *guard) finish(ctx context.Context, id string, rev uint64, r record) error {
	if err := g.claims.Update(ctx, id, rev, r); err != nil {
		return fmt.Errorf("record outcome of execution %s: %w", id, err)
	}
	return nil
}
