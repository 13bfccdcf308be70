package engine

import (
	"testing"

	"github.com/medic-sre/medic/pkg/events"
)

// A point stamped beyond the caller's limit (its clock plus the skew it
// allows) is left out and counted, so it cannot drag the watermark ahead
// and make every real point after it too late: the fault that follows is
// still detected.
func TestPointsAfterTheLimitAreRejected(t *testing.T) {
	limit := t0 + ms(10_000)
	future := pts(errMetric, "s", "f", 3_600_000, 3_600_001, 1, 0) // an hour ahead of the data
	tests := []struct {
		name         string
		first        []events.Point
		wantRejected int
	}{
		{name: "one point an hour ahead", first: future, wantRejected: 1},
		{name: "a point just at the limit is kept", first: pts(errMetric, "other", "f", 10_000, 10_001, 1, 0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, errorRule())
			if got := e.Observe(tc.first, limit); got != tc.wantRejected {
				t.Errorf("rejected %d points, want %d", got, tc.wantRejected)
			}
			var out []Emission
			for _, b := range [][]events.Point{pts(errMetric, "s", "f", 0, 2000, 20, 0), pts(errMetric, "s", "f", 2000, 4000, 20, 1)} {
				if n := e.Observe(b, limit); n != 0 {
					t.Fatalf("rejected %d real points", n)
				}
				out = append(out, e.Evaluate(wallClock)...)
			}
			if tc.wantRejected > 0 {
				sameTimeline(t, describe(out), []string{"detected errors{s} +2100ms"})
			}
		})
	}
}
