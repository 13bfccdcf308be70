package bus

import (
	"errors"
	"fmt"
	"time"
)

// permanentError marks a failure that no retry can fix.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent wraps err so the consumer dead-letters the message at once
// instead of retrying it.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err: err}
}

// IsPermanent reports whether err (or an error it wraps) is permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// notYetError marks an event that arrived before it can be handled: it is
// redelivered after a known delay, and the wait is no failure.
type notYetError struct {
	err   error
	delay time.Duration
}

func (e notYetError) Error() string { return e.err.Error() }
func (e notYetError) Unwrap() error { return e.err }

// RetryIn wraps err so the consumer redelivers the message after delay,
// without counting the delivery toward MaxDeliver: the event is early, not
// failing (a remediation waiting for its incident to persist).
func RetryIn(delay time.Duration, err error) error {
	if err == nil {
		return nil
	}
	return notYetError{err: err, delay: delay}
}

// retryDelay returns the delay a RetryIn error asks for.
func retryDelay(err error) (time.Duration, bool) {
	var n notYetError
	if errors.As(err, &n) {
		return n.delay, true
	}
	return 0, false
}

// Backoff is the redelivery delay after a transient failure: it doubles
// from base with each delivery, up to max.
func Backoff(numDelivered uint64, base, max time.Duration) time.Duration {
	d := base
	for i := uint64(1); i < numDelivered && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return d
}

// RejectedError names the events of a batch that no retry can fix, by
// event id. The consumer dead-letters those and acks the rest of the batch.
type RejectedError struct {
	Reasons map[string]error
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("%d event(s) of the batch rejected", len(e.Reasons))
}

// Reject returns a RejectedError, or nil when reasons is empty.
func Reject(reasons map[string]error) error {
	if len(reasons) == 0 {
		return nil
	}
	return &RejectedError{Reasons: reasons}
}
