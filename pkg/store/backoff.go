package store

import "time"

// backoff is the wait before the next flush after consecutive failures:
// base, then doubling up to max. reset starts over after a success.
type backoff struct {
	base, max time.Duration
	cur       time.Duration
}

// failed returns the wait after one more failure.
func (b *backoff) failed() time.Duration {
	if b.cur == 0 {
		b.cur = b.base
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	return b.cur
}

func (b *backoff) reset() { b.cur = 0 }
