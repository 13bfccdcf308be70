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
