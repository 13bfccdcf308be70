package kv

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Memory keeps buckets in process memory, for unit tests of the stores
// built on this package: it behaves as JetStream does (the contract tests
// hold both to it) but keeps nothing across restarts. Stores opened on one
// Memory with the same bucket name share their records, as replicas on one
// JetStream do.
type Memory struct {
	mu      sync.Mutex
	buckets map[string]*memBucket
	now     func() time.Time
}

// NewMemory returns an empty Memory.
func NewMemory() *Memory {
	return &Memory{buckets: map[string]*memBucket{}, now: time.Now}
}

func (m *Memory) open(ctx context.Context, cfg Config) (backend, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("kv bucket %s: %w", cfg.Bucket, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.buckets[cfg.Bucket]
	if !ok {
		b = &memBucket{m: m, entries: map[string]raw{}}
		m.buckets[cfg.Bucket] = b
	}
	b.ttl, b.maxBytes = cfg.TTL, cfg.MaxBytes
	return b, nil
}

// memBucket is one bucket; its revisions count the writes to the whole
// bucket, as a JetStream stream's sequence does. It locks its Memory.
type memBucket struct {
	m        *Memory
	ttl      time.Duration
	maxBytes int64
	rev      uint64
	entries  map[string]raw
}

// live returns the record under key unless it has aged out. The caller
// holds the lock.
func (b *memBucket) live(key string) (raw, bool) {
	r, ok := b.entries[key]
	if ok && b.ttl > 0 && b.m.now().Sub(r.created) >= b.ttl {
		delete(b.entries, key)
		return raw{}, false
	}
	return r, ok
}

// fits reports whether v fits under key within maxBytes. The caller holds
// the lock.
func (b *memBucket) fits(key string, v []byte) bool {
	if b.maxBytes <= 0 {
		return true
	}
	var size int64
	for k := range b.entries {
		if r, ok := b.live(k); ok && k != key {
			size += int64(len(k) + len(r.value))
		}
	}
	return size+int64(len(key)+len(v)) <= b.maxBytes
}

// store writes v under key. The caller holds the lock.
func (b *memBucket) store(key string, v []byte) uint64 {
	b.rev++
	b.entries[key] = raw{value: slices.Clone(v), rev: b.rev, created: b.m.now()}
	return b.rev
}

func (b *memBucket) lock(ctx context.Context) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.m.mu.Lock()
	return b.m.mu.Unlock, nil
}

func (b *memBucket) get(ctx context.Context, key string) (raw, error) {
	unlock, err := b.lock(ctx)
	if err != nil {
		return raw{}, err
	}
	defer unlock()
	r, ok := b.live(key)
	if !ok {
		return raw{}, ErrNotFound
	}
	r.value = slices.Clone(r.value)
	return r, nil
}

func (b *memBucket) create(ctx context.Context, key string, v []byte) (uint64, error) {
	unlock, err := b.lock(ctx)
	if err != nil {
		return 0, err
	}
	defer unlock()
	if _, ok := b.live(key); ok {
		return 0, ErrExists
	}
	if !b.fits(key, v) {
		return 0, ErrFull
	}
	return b.store(key, v), nil
}

func (b *memBucket) update(ctx context.Context, key string, v []byte, rev uint64) (uint64, error) {
	unlock, err := b.lock(ctx)
	if err != nil {
		return 0, err
	}
	defer unlock()
	if r, ok := b.live(key); !ok || r.rev != rev {
		return 0, ErrConflict
	}
	if !b.fits(key, v) {
		return 0, ErrFull
	}
	return b.store(key, v), nil
}

func (b *memBucket) put(ctx context.Context, key string, v []byte) (uint64, error) {
	unlock, err := b.lock(ctx)
	if err != nil {
		return 0, err
	}
	defer unlock()
	if !b.fits(key, v) {
		return 0, ErrFull
	}
	return b.store(key, v), nil
}

func (b *memBucket) delete(ctx context.Context, key string, rev uint64) error {
	unlock, err := b.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if r, ok := b.live(key); rev != 0 && (!ok || r.rev != rev) {
		return ErrConflict
	}
	b.rev++ // a deletion is a write, as JetStream's delete marker is
	delete(b.entries, key)
	return nil
}

func (b *memBucket) keys(ctx context.Context) ([]string, error) {
	unlock, err := b.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var ks []string
	for k := range b.entries {
		if _, ok := b.live(k); ok {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	return ks, nil
}
