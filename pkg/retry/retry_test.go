package retry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/retry"
)

func TestRetry(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name         string
		policy       retry.Policy
		failures     int
		permanent    bool
		wantAttempts int
		wantErr      error
	}{
		{name: "first try", policy: retry.Policy{Attempts: 3}, wantAttempts: 1},
		{name: "after failures", policy: retry.Policy{Attempts: 4}, failures: 2, wantAttempts: 3},
		{name: "attempts run out", policy: retry.Policy{Attempts: 3}, failures: 9, wantAttempts: 3, wantErr: boom},
		{name: "permanent stops at once", policy: retry.Policy{Attempts: 3}, failures: 9, permanent: true, wantAttempts: 1, wantErr: boom},
		{name: "unbounded", policy: retry.Policy{}, failures: 5, wantAttempts: 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.policy.Initial, tc.policy.Max = time.Microsecond, time.Millisecond
			notified := 0
			n, err := retry.Do(context.Background(), tc.policy, func(attempt int) error {
				if attempt > tc.failures {
					return nil
				}
				if tc.permanent {
					return retry.Permanent(boom)
				}
				return boom
			}, func(error, time.Duration) { notified++ })
			if n != tc.wantAttempts || !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("%d attempts, err %v; want %d, %v", n, err, tc.wantAttempts, tc.wantErr)
			}
			if tc.wantErr == nil && notified != n-1 {
				t.Fatalf("notified %d times for %d attempts", notified, n)
			}
		})
	}
}

// Waits double from Initial up to Max, with jitter of up to half.
func TestPolicyMaxWait(t *testing.T) {
	p := retry.Policy{Initial: 100 * time.Millisecond, Max: time.Second}
	for n, want := range map[int]time.Duration{1: 150 * time.Millisecond, 2: 300 * time.Millisecond, 4: 1200 * time.Millisecond, 9: 1500 * time.Millisecond} {
		if got := p.MaxWait(n); got != want {
			t.Errorf("MaxWait(%d) = %s, want %s", n, got, want)
		}
	}
}
