package bus

import (
	"errors"
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
