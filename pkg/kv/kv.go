// Package kv is Medic's one typed key-value store: a bucket of records of
// one Go type, one per key, with the operations the services build their
// state on. Create fails on a repeat (the claim and de-duplication
// primitive), Update and DeleteAt take the revision the caller read
// (optimistic concurrency: a write that lost a race fails with ErrConflict
// instead of overwriting), and any string is a valid key (see Escape; up
// to MaxKeyLen bytes once escaped).
//
// A store lives in JetStream KV (JetStream), shared by replicas and kept
// across restarts, or in process memory (NewMemory) for unit tests; one
// contract test suite holds both to the same behaviour.
package kv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Sentinel errors. Errors from a Store wrap one of them (and the backend's
// own error, when there is one).
var (
	// ErrNotFound means the key holds nothing: never written, deleted, or
	// aged out.
	ErrNotFound = errors.New("kv: key not found")
	// ErrExists means Create found the key already there.
	ErrExists = errors.New("kv: key exists")
	// ErrConflict means the key is no longer at the revision the caller
	// gave: someone else wrote or deleted it since it was read.
	ErrConflict = errors.New("kv: revision conflict")
	// ErrInvalidKey means the key is too long to store (see MaxKeyLen).
	ErrInvalidKey = errors.New("kv: invalid key")
	// ErrUnreadable means a stored value does not decode as the store's
	// type.
	ErrUnreadable = errors.New("kv: unreadable value")
	// ErrFull means the bucket holds its MaxBytes already: nothing new is
	// written until records are deleted or age out.
	ErrFull = errors.New("kv: bucket full")
)

// Config describes a bucket. Opening a bucket that exists updates it to
// the config, so every opener of one bucket must pass the same config.
type Config struct {
	// Bucket is the bucket's name; a JetStream bucket is kept in the
	// stream KV_<Bucket>.
	Bucket      string
	Description string
	// TTL, when set, is how long a record lives after its last write.
	TTL time.Duration
	// MaxBytes, when set, bounds the bucket's size: a write that would
	// pass it fails with ErrFull. (JetStream counts its own overhead per
	// record, the memory store the keys and values only.)
	MaxBytes int64
}

// Entry is a record as read from a store.
type Entry[T any] struct {
	Key   string
	Value T
	// Revision identifies this write of the key, for Update and DeleteAt.
	Revision uint64
	// Created is when this revision was written.
	Created time.Time
}

// Buckets is where stores keep their buckets: JetStream KV (JetStream) or
// process memory (NewMemory).
type Buckets interface {
	open(ctx context.Context, cfg Config) (backend, error)
}

// backend is a bucket of raw values under escaped keys. It reports the
// package's sentinel errors.
type backend interface {
	get(ctx context.Context, key string) (raw, error)
	create(ctx context.Context, key string, v []byte) (uint64, error)
	update(ctx context.Context, key string, v []byte, rev uint64) (uint64, error)
	put(ctx context.Context, key string, v []byte) (uint64, error)
	// delete deletes key; when rev is not 0, only if key is at rev.
	delete(ctx context.Context, key string, rev uint64) error
	keys(ctx context.Context) ([]string, error)
}

// raw is a stored value with its revision and time.
type raw struct {
	value   []byte
	rev     uint64
	created time.Time
}

// codec turns values into bytes and back.
type codec[T any] struct {
	encode func(T) ([]byte, error)
	decode func([]byte) (T, error)
}

// Store is a bucket of records of type T. It is safe for concurrent use.
type Store[T any] struct {
	b      backend
	bucket string
	codec  codec[T]
}

// Open opens the bucket described by cfg in b, creating it when missing,
// as a store of JSON-encoded T.
func Open[T any](ctx context.Context, b Buckets, cfg Config) (*Store[T], error) {
	return open(ctx, b, cfg, codec[T]{encode: func(v T) ([]byte, error) { return json.Marshal(v) }, decode: decodeJSON[T]})
}

// OpenText is Open for a store of strings kept as their bytes, unquoted:
// the format of buckets whose values are bare ids.
func OpenText(ctx context.Context, b Buckets, cfg Config) (*Store[string], error) {
	return open(ctx, b, cfg, codec[string]{
		encode: func(s string) ([]byte, error) { return []byte(s), nil },
		decode: func(v []byte) (string, error) { return string(v), nil },
	})
}

func open[T any](ctx context.Context, b Buckets, cfg Config, c codec[T]) (*Store[T], error) {
	if cfg.Bucket == "" {
		return nil, errors.New("kv: a bucket needs a name")
	}
	be, err := b.open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &Store[T]{b: be, bucket: cfg.Bucket, codec: c}, nil
}

func decodeJSON[T any](v []byte) (T, error) {
	var out T
	err := json.Unmarshal(v, &out)
	return out, err
}

// Get returns the record under key. When there is none, the error wraps
// ErrNotFound; when it does not decode, ErrUnreadable.
func (s *Store[T]) Get(ctx context.Context, key string) (Entry[T], error) {
	k, err := s.key("get", key)
	if err != nil {
		return Entry[T]{}, err
	}
	r, err := s.b.get(ctx, k)
	if err != nil {
		return Entry[T]{}, s.fail("get", key, err)
	}
	v, err := s.codec.decode(r.value)
	if err != nil {
		return Entry[T]{}, s.fail("get", key, fmt.Errorf("%w: %w", ErrUnreadable, err))
	}
	return Entry[T]{Key: key, Value: v, Revision: r.rev, Created: r.created}, nil
}

// Create stores v under key unless the key holds a record, and returns the
// new revision. When it does, the error wraps ErrExists and the record is
// left as it was: of several creators of one key exactly one succeeds.
func (s *Store[T]) Create(ctx context.Context, key string, v T) (uint64, error) {
	return s.write("create", key, v, func(k string, raw []byte) (uint64, error) { return s.b.create(ctx, k, raw) })
}

// Update replaces the record under key if it is still at revision rev,
// and returns the new revision. When someone else wrote or deleted it
// since, the error wraps ErrConflict and nothing is written.
func (s *Store[T]) Update(ctx context.Context, key string, v T, rev uint64) (uint64, error) {
	return s.write("update", key, v, func(k string, raw []byte) (uint64, error) { return s.b.update(ctx, k, raw, rev) })
}

// Put stores v under key whatever it holds, and returns the new revision.
// It is for records with a single writer; others use Create and Update.
func (s *Store[T]) Put(ctx context.Context, key string, v T) (uint64, error) {
	return s.write("put", key, v, func(k string, raw []byte) (uint64, error) { return s.b.put(ctx, k, raw) })
}

// Delete deletes the record under key. Deleting a key that holds nothing
// is no error.
func (s *Store[T]) Delete(ctx context.Context, key string) error {
	return s.remove(ctx, "delete", key, 0)
}

// DeleteAt deletes the record under key if it is still at revision rev;
// otherwise the error wraps ErrConflict.
func (s *Store[T]) DeleteAt(ctx context.Context, key string, rev uint64) error {
	if rev == 0 {
		return s.fail("delete", key, fmt.Errorf("%w: revision 0", ErrConflict))
	}
	return s.remove(ctx, "delete", key, rev)
}

// Keys returns the keys that hold a record, sorted. A stored key that no
// store escaped (written by other means) is returned as it is stored.
func (s *Store[T]) Keys(ctx context.Context) ([]string, error) {
	ks, err := s.b.keys(ctx)
	if err != nil {
		return nil, fmt.Errorf("kv %s: keys: %w", s.bucket, err)
	}
	out := make([]string, 0, len(ks))
	for _, k := range ks {
		if u, ok := Unescape(k); ok {
			k = u
		}
		out = append(out, k)
	}
	slices.Sort(out)
	return out, nil
}

func (s *Store[T]) write(op, key string, v T, do func(k string, raw []byte) (uint64, error)) (uint64, error) {
	k, err := s.key(op, key)
	if err != nil {
		return 0, err
	}
	raw, err := s.codec.encode(v)
	if err != nil {
		return 0, s.fail(op, key, fmt.Errorf("encode: %w", err))
	}
	rev, err := do(k, raw)
	if err != nil {
		return 0, s.fail(op, key, err)
	}
	return rev, nil
}

func (s *Store[T]) remove(ctx context.Context, op, key string, rev uint64) error {
	k, err := s.key(op, key)
	if err != nil {
		return err
	}
	if err := s.b.delete(ctx, k, rev); err != nil {
		return s.fail(op, key, err)
	}
	return nil
}

// key escapes key, refusing one too long to store.
func (s *Store[T]) key(op, key string) (string, error) {
	k := Escape(key)
	if len(k) > MaxKeyLen {
		return "", s.fail(op, key, fmt.Errorf("%w: %d bytes escaped, at most %d", ErrInvalidKey, len(k), MaxKeyLen))
	}
	return k, nil
}

func (s *Store[T]) fail(op, key string, err error) error {
	if len(key) > 80 {
		key = key[:80] + "..."
	}
	return fmt.Errorf("kv %s: %s %q: %w", s.bucket, op, key, err)
}
