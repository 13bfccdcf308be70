package remediate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

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
	kv jetstream.KeyValue
}

// openGuard creates the bucket when missing.
func openGuard(ctx context.Context, js jetstream.JetStream) (*guard, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      Bucket,
		Description: "remediation executions, one per incident",
		TTL:         bucketTTL,
		Storage:     jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("kv bucket %s: %w", Bucket, err)
	}
	return &guard{kv: kv}, nil
}

// claim creates the execution's key. taken is true, with the existing
// record, when another delivery created it first.
func (g *guard) claim(ctx context.Context, id string, r record) (rev uint64, existing record, taken bool, err error) {
	raw, _ := json.Marshal(r)
	rev, err = g.kv.Create(ctx, id, raw)
	if err == nil {
		return rev, record{}, false, nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return 0, record{}, false, fmt.Errorf("claim execution %s: %w", id, err)
	}
	entry, err := g.kv.Get(ctx, id)
	if err != nil {
		return 0, record{}, true, fmt.Errorf("read execution %s: %w", id, err)
	}
	if err := json.Unmarshal(entry.Value(), &existing); err != nil {
		return 0, record{}, true, fmt.Errorf("execution %s: unreadable record: %w", id, err)
	}
	return entry.Revision(), existing, true, nil
}

// release deletes a claim that never got to run a step, so a redelivery
// can try again.
func (g *guard) release(ctx context.Context, id string, rev uint64) error {
	return g.kv.Delete(ctx, id, jetstream.LastRevision(rev))
}

// finish stores the outcome.
func (g *guard) finish(ctx context.Context, id string, rev uint64, r record) error {
	raw, _ := json.Marshal(r)
	if _, err := g.kv.Update(ctx, id, raw, rev); err != nil {
		return fmt.Errorf("record outcome of execution %s: %w", id, err)
	}
	return nil
}
