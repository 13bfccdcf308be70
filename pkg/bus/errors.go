package bus

import (
	"time"

	"github.com/medic-sre/medic/pkg/outcome"
)

// Permanent, IsPermanent, RetryIn and Reject are pkg/outcome's, kept here
// while callers move to that leaf package.
var (
	Permanent   = outcome.Permanent
	IsPermanent = outcome.IsPermanent
	RetryIn     = outcome.RetryIn
	Reject      = outcome.Reject
)

// RejectedError is outcome.RejectedError.
type RejectedError = outcome.RejectedError

func retryDelay(err error) (time.Duration, bool) { return outcome.RetryDelay(err) }

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
