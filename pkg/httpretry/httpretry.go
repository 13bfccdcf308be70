// Package httpretry is the one HTTP retry stage of the webhook receiver and
// the remediation actions (Client): retryable statuses, Retry-After and
// Idempotency-Key, over the backoff of pkg/retry.
package httpretry

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Retryable reports whether an answer may succeed if sent again: a server
// error, or a 4xx that says "not now" rather than "no" (request timeout,
// too early, too many requests).
func Retryable(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooEarly, http.StatusTooManyRequests:
		return true
	}
	return code >= 500
}

// After reads a Retry-After header value, in seconds or as an HTTP date
// relative to now, capped at limit. It is 0 when the value is absent,
// unreadable or in the past.
func After(v string, now time.Time, limit time.Duration) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		// Compare in seconds first: a huge value would overflow a Duration.
		if secs > int64(limit/time.Second) {
			return limit
		}
		d = time.Duration(secs) * time.Second
	} else if at, err := http.ParseTime(v); err == nil {
		d = at.Sub(now)
	}
	return min(max(d, 0), limit)
}

// Sleep waits for d or until ctx ends.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
