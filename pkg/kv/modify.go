package kv

import (
	"context"
	"errors"
	"fmt"
)

// Modify sets the record under key to fn of the current one: a
// read-modify-write that loses no concurrent write. It reads the record,
// writes fn's result with Create (none was there) or Update at the revision
// read, and when another writer got there first reads again, at most
// attempts times; past them the error wraps ErrConflict or ErrExists.
//
// fn gets the zero T and found false when the key holds nothing. It
// returns the record to write, or write false to leave it as it is (then
// Modify returns revision 0). fn may run several times, so it must have no
// effects of its own.
func (s *Store[T]) Modify(ctx context.Context, key string, attempts int, fn func(cur T, found bool) (next T, write bool)) (uint64, error) {
	var err error
	for range max(attempts, 1) {
		var rev uint64
		if rev, err = s.modifyOnce(ctx, key, fn); !errors.Is(err, ErrConflict) && !errors.Is(err, ErrExists) {
			return rev, err
		}
	}
	return 0, fmt.Errorf("after %d attempts: %w", max(attempts, 1), err)
}

func (s *Store[T]) modifyOnce(ctx context.Context, key string, fn func(T, bool) (T, bool)) (uint64, error) {
	cur, err := s.Get(ctx, key)
	found := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return 0, err
	}
	next, write := fn(cur.Value, found)
	switch {
	case !write:
		return 0, nil
	case !found:
		return s.Create(ctx, key, next)
	}
	return s.Update(ctx, key, next, cur.Revision)
}
