package notify

import (
	"context"
	"errors"
	"fmt"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/kv"
	"github.com/nats-io/nats.go/jetstream"
)

// MemoryBucket is the JetStream KV bucket that remembers each incident's
// anomalies.
const MemoryBucket = "medic_notifier_incidents"

// rememberAttempts bounds the compare-and-set loop of Remember. Each lost
// race means another write to the same incident succeeded, so the bound
// only has to exceed the writes that can happen at once (a few replicas,
// each handling one event at a time); past it the bus retries the event.
const rememberAttempts = 16

// Memory remembers the anomalies of each incident, as incident.opened and
// incident.updated list them, so that a mitigated or resolved
// notification can say which anomalies cleared.
type Memory interface {
	// Remember adds anomalies to the incident's; it is idempotent.
	Remember(ctx context.Context, incidentID string, as []events.AnomalyRef) error
	// Anomalies returns the incident's anomalies, nil when none are known.
	Anomalies(ctx context.Context, incidentID string) ([]events.AnomalyRef, error)
}

// KVMemory is a Memory on a JetStream KV bucket, shared by replicas and
// kept across restarts.
type KVMemory struct {
	store *kv.Store[[]events.AnomalyRef]
}

// OpenKVMemory creates the bucket when missing.
func OpenKVMemory(ctx context.Context, js jetstream.JetStream) (*KVMemory, error) {
	return NewKVMemory(ctx, kv.JetStream(js))
}

// NewKVMemory opens the bucket in b: JetStream, or process memory in tests.
func NewKVMemory(ctx context.Context, b kv.Buckets) (*KVMemory, error) {
	store, err := kv.Open[[]events.AnomalyRef](ctx, b,
		kv.Config{Bucket: MemoryBucket, Description: "anomalies of each incident, for notifications", TTL: ledgerTTL})
	if err != nil {
		return nil, err
	}
	return &KVMemory{store: store}, nil
}

// Remember implements Memory with a compare-and-set, so that two replicas
// adding anomalies at once lose neither.
func (m *KVMemory) Remember(ctx context.Context, incidentID string, as []events.AnomalyRef) error {
	_, err := m.store.Modify(ctx, memoryKey(incidentID), rememberAttempts, func(old []events.AnomalyRef, found bool) ([]events.AnomalyRef, bool) {
		merged := merge(old, as)
		return merged, !found || len(merged) != len(old)
	})
	if err != nil {
		return fmt.Errorf("remember anomalies of %s: %w", incidentID, err)
	}
	return nil
}

// Anomalies implements Memory.
func (m *KVMemory) Anomalies(ctx context.Context, incidentID string) ([]events.AnomalyRef, error) {
	e, err := m.store.Get(ctx, memoryKey(incidentID))
	if errors.Is(err, kv.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("anomalies of %s: %w", incidentID, err)
	}
	return e.Value, nil
}

// memoryKey is the incident's key. The store would take the incident id
// as it is, but the previous version hashed it, and records it wrote are
// found only under the hash.
func memoryKey(incidentID string) string { return events.DerivedID("incident-anomalies", incidentID) }

// merge appends the anomalies of add that old lacks, in order.
func merge(old, add []events.AnomalyRef) []events.AnomalyRef {
	out := append([]events.AnomalyRef{}, old...)
	seen := map[string]bool{}
	for _, a := range old {
		seen[a.AnomalyID] = true
	}
	for _, a := range add {
		if !seen[a.AnomalyID] {
			seen[a.AnomalyID] = true
			out = append(out, a)
		}
	}
	return out
}
