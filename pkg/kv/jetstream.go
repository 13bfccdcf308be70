package kv

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// JetStream keeps buckets in JetStream KV, on file storage, where every
// replica of a service shares them and they outlive restarts.
func JetStream(js jetstream.JetStream) Buckets { return jsBuckets{js: js} }

type jsBuckets struct{ js jetstream.JetStream }

func (b jsBuckets) open(ctx context.Context, cfg Config) (backend, error) {
	kv, err := b.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      cfg.Bucket,
		Description: cfg.Description,
		TTL:         cfg.TTL,
		MaxBytes:    cfg.MaxBytes,
		Storage:     jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("kv bucket %s: %w (check that JetStream is enabled on the NATS server)", cfg.Bucket, err)
	}
	return jsBucket{kv: kv}, nil
}

// jsBucket maps JetStream's errors to the package's, keeping JetStream's
// in the chain.
type jsBucket struct{ kv jetstream.KeyValue }

func (b jsBucket) get(ctx context.Context, key string) (raw, error) {
	e, err := b.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return raw{}, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	if err != nil {
		return raw{}, err
	}
	return raw{value: e.Value(), rev: e.Revision(), created: e.Created()}, nil
}

func (b jsBucket) create(ctx context.Context, key string, v []byte) (uint64, error) {
	rev, err := b.kv.Create(ctx, key, v)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return 0, fmt.Errorf("%w: %w", ErrExists, err)
	}
	return rev, full(err)
}

func (b jsBucket) update(ctx context.Context, key string, v []byte, rev uint64) (uint64, error) {
	next, err := b.kv.Update(ctx, key, v, rev)
	return next, full(conflict(err))
}

func (b jsBucket) put(ctx context.Context, key string, v []byte) (uint64, error) {
	rev, err := b.kv.Put(ctx, key, v)
	return rev, full(err)
}

func (b jsBucket) delete(ctx context.Context, key string, rev uint64) error {
	if rev == 0 {
		return b.kv.Delete(ctx, key)
	}
	return conflict(b.kv.Delete(ctx, key, jetstream.LastRevision(rev)))
}

func (b jsBucket) keys(ctx context.Context) ([]string, error) {
	ks, err := b.kv.Keys(ctx)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, nil
	}
	return ks, err
}

// conflict maps a revision mismatch to ErrConflict. (JetStream's
// ErrKeyExists matches a mismatch too, by its error code, so it is no
// test for one.)
func conflict(err error) error {
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return fmt.Errorf("%w: %w", ErrConflict, err)
	}
	return err
}

// storeFailed is JetStream's error code for a message its stream refused
// to store; with a stream at its byte limit, the description says so.
const storeFailed = 10077

// full maps a write refused by a bucket at its MaxBytes to ErrFull.
func full(err error) error {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == storeFailed && strings.Contains(apiErr.Description, "maximum bytes") {
		return fmt.Errorf("%w: %w", ErrFull, err)
	}
	return err
}
