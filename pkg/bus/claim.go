package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Claims is a JetStream KV bucket of JSON records, one per key, in which the
// first writer of a key wins: Claim is a KV Create, which fails with
// jetstream.ErrKeyExists when the key is already there. It guards side
// effects that have no natural de-duplication (a webhook post, a
// remediation) against redeliveries and against replicas working at once,
// and it survives restarts.
type Claims[T any] struct {
	kv jetstream.KeyValue
}

// OpenClaims creates the bucket when missing. Its keys expire after ttl,
// which should outlive the retention of the stream whose events make the
// claims, so that a redelivered event always finds its claim.
func OpenClaims[T any](ctx context.Context, js jetstream.JetStream, bucket, description string, ttl time.Duration) (*Claims[T], error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      bucket,
		Description: description,
		TTL:         ttl,
		Storage:     jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("kv bucket %s: %w", bucket, err)
	}
	return &Claims[T]{kv: kv}, nil
}

// Claim stores v under key unless the key exists, and returns the record's
// revision. When another claim came first, the error wraps
// jetstream.ErrKeyExists and the stored record is left as it was.
func (c *Claims[T]) Claim(ctx context.Context, key string, v T) (uint64, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return 0, err
	}
	return c.kv.Create(ctx, key, raw)
}

// Get returns the record under key and its revision. When there is none,
// the error wraps jetstream.ErrKeyNotFound.
func (c *Claims[T]) Get(ctx context.Context, key string) (T, uint64, error) {
	var v T
	entry, err := c.kv.Get(ctx, key)
	if err != nil {
		return v, 0, err
	}
	if err := json.Unmarshal(entry.Value(), &v); err != nil {
		var zero T
		return zero, 0, fmt.Errorf("unreadable record: %w", err)
	}
	return v, entry.Revision(), nil
}

// Update replaces the record under key if it is still at revision rev.
func (c *Claims[T]) Update(ctx context.Context, key string, rev uint64, v T) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = c.kv.Update(ctx, key, raw, rev)
	return err
}

// Release deletes the claim under key if it is still at revision rev, so
// that a later attempt can claim the key again.
func (c *Claims[T]) Release(ctx context.Context, key string, rev uint64) error {
	return c.kv.Delete(ctx, key, jetstream.LastRevision(rev))
}
