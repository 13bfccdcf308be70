package bus

import "time"

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
