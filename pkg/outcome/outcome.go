// Package outcome is how a handler tells whoever delivered its input what
// to do next: nothing (nil), retry later (any other error), never retry
// (Permanent), or retry at a known time without counting a failure
// (RetryIn). It is a leaf package so that domain code can say this without
// importing the transport that acts on it (pkg/bus).
package outcome

import (
	"errors"
	"fmt"
	"time"
)

// permanentError marks a failure that no retry can fix.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent wraps err so the input is dead-lettered at once instead of
// retried.
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

// notYetError marks input that arrived before it can be handled: it is
// redelivered after a known delay, and the wait is no failure.
type notYetError struct {
	err   error
	delay time.Duration
}

func (e notYetError) Error() string { return e.err.Error() }
func (e notYetError) Unwrap() error { return e.err }

// RetryIn wraps err so the input is redelivered after delay, without
// counting the delivery as a failure: it is early, not failing (a
// remediation waiting for its incident to persist).
func RetryIn(delay time.Duration, err error) error {
	if err == nil {
		return nil
	}
	return notYetError{err: err, delay: delay}
}

// RetryDelay returns the delay a RetryIn error asks for.
func RetryDelay(err error) (time.Duration, bool) {
	var n notYetError
	if errors.As(err, &n) {
		return n.delay, true
	}
	return 0, false
}

// RejectedError names the items of a batch that no retry can fix, by id.
// The deliverer dead-letters those and accepts the rest of the batch.
type RejectedError struct {
	Reasons map[string]error
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("%d item(s) of the batch rejected", len(e.Reasons))
}

// Reject returns a RejectedError, or nil when reasons is empty.
func Reject(reasons map[string]error) error {
	if len(reasons) == 0 {
		return nil
	}
	return &RejectedError{Reasons: reasons}
}
