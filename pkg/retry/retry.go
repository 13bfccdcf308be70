// Package retry is Medic's one backoff policy: exponential with jitter
// (cenkalti/backoff/v5), bounded by attempts or by the context. The HTTP
// clients (pkg/httpretry), the notifier's ledger writes and the NATS and
// ClickHouse set-up loops all retry through Do.
package retry

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// Policy is Medic's one backoff: exponential, doubling from Initial up to
// Max, each wait jittered by up to half either way so that many clients
// that failed together do not retry together. The HTTP client, the
// notifier's ledger writes and the NATS and ClickHouse set-up loops all
// retry with it.
type Policy struct {
	// Attempts bounds the tries, the first included; 0 tries until the
	// context ends.
	Attempts int
	// Initial is the first wait; 0 is DefaultInitial.
	Initial time.Duration
	// Max caps a wait before jitter; 0 is DefaultMax.
	Max time.Duration
}

// SetupPolicy is the backoff of the NATS and ClickHouse set-up loops, which
// retry until their context ends.
var SetupPolicy = Policy{Initial: DefaultInitial, Max: DefaultMax}

// The policy's defaults.
const (
	DefaultInitial = 200 * time.Millisecond
	DefaultMax     = 5 * time.Second
	// Jitter is how far a wait may stray from its nominal value, as a
	// fraction of it.
	Jitter = 0.5
)

// MaxWait is the longest wait before attempt n+1 (n counts from 1): the
// nominal wait plus its jitter.
func (p Policy) MaxWait(n int) time.Duration {
	d := p.initial()
	for i := 1; i < n && d < p.max(); i++ {
		d *= 2
	}
	return time.Duration(float64(min(d, p.max())) * (1 + Jitter))
}

func (p Policy) initial() time.Duration {
	if p.Initial <= 0 {
		return DefaultInitial
	}
	return p.Initial
}

func (p Policy) max() time.Duration {
	if p.Max <= 0 {
		return DefaultMax
	}
	return max(p.Max, p.initial())
}

// Permanent marks an error no retry can fix: Do returns it at once.
func Permanent(err error) error { return backoff.Permanent(err) }

// waitAtLeast is an error that asks for a wait no shorter than after, as a
// Retry-After header does.
type waitAtLeast struct {
	err   error
	after time.Duration
}

func (e *waitAtLeast) Error() string { return e.err.Error() }
func (e *waitAtLeast) Unwrap() error { return e.err }

// WaitAtLeast marks a retryable error whose next attempt must not come
// sooner than after; the wait is the longer of after and the backoff.
func WaitAtLeast(err error, after time.Duration) error {
	if after <= 0 {
		return err
	}
	return &waitAtLeast{err: err, after: after}
}

// floored is the policy's backoff, raised to a floor the last error asked
// for.
type floored struct {
	mu    sync.Mutex
	exp   *backoff.ExponentialBackOff
	floor time.Duration
}

func (f *floored) NextBackOff() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := max(f.exp.NextBackOff(), f.floor)
	f.floor = 0
	return d
}

func (f *floored) Reset() { f.exp.Reset() }

// Do calls op with the attempt number (from 1) until it returns nil, a
// Permanent error, attempts run out or ctx ends. notify, when not nil, hears
// each failure and the wait before the next attempt. It returns the number
// of attempts made and op's last error; when ctx ended, ctx's error wrapping
// the last one.
func Do(ctx context.Context, p Policy, op func(attempt int) error, notify func(err error, wait time.Duration)) (int, error) {
	exp := backoff.NewExponentialBackOff()
	exp.InitialInterval, exp.MaxInterval = p.initial(), p.max()
	exp.Multiplier, exp.RandomizationFactor = 2, Jitter
	bo := &floored{exp: exp}
	attempts := 0
	var last error
	opts := []backoff.RetryOption{backoff.WithBackOff(bo), backoff.WithMaxElapsedTime(0)}
	if p.Attempts > 0 {
		opts = append(opts, backoff.WithMaxTries(uint(p.Attempts)))
	}
	if notify != nil {
		opts = append(opts, backoff.WithNotify(notify))
	}
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		attempts++
		last = op(attempts)
		var w *waitAtLeast
		if errors.As(last, &w) {
			bo.mu.Lock()
			bo.floor = w.after
			bo.mu.Unlock()
		}
		return struct{}{}, last
	}, opts...)
	if err != nil && last != nil && ctx.Err() != nil && errors.Is(err, context.Cause(ctx)) && !errors.Is(last, err) {
		return attempts, fmt.Errorf("%w (last error: %w)", err, last)
	}
	return attempts, err
}
