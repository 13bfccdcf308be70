package engine

import (
	"testing"

	"github.com/medic-sre/medic/pkg/events"
)

// A point stamped beyond the caller's limit (its clock plus the skew it
// allows) is left out and counted, so it cannot drag time ahead for its own
// series: the fault that follows on that series is still detected.
func TestPointsAfterTheLimitAreRejected(t *testing.T) {
	limit := t0 + ms(10_000)
	future := pts(errMetric, "s", "f", 3_600_000, 3_600_001, 1, 0) // an hour ahead of the data
	tests := []struct {
		name         string
		first        []events.Point
		wantRejected Rejected
	}{
		{name: "one point an hour ahead", first: future, wantRejected: Rejected{Future: 1}},
		{name: "a point just at the limit is kept", first: pts(errMetric, "other", "f", 10_000, 10_001, 1, 0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, errorRule())
			if got := e.Observe(tc.first, 0, limit); got != tc.wantRejected {
				t.Errorf("rejected %+v, want %+v", got, tc.wantRejected)
			}
			var out []Emission
			for _, b := range [][]events.Point{pts(errMetric, "s", "f", 0, 2000, 20, 0), pts(errMetric, "s", "f", 2000, 4000, 20, 1)} {
				if n := e.Observe(b, 0, limit); n.Total() != 0 {
					t.Fatalf("rejected %+v real points", n)
				}
				out = append(out, e.Evaluate(wallClock)...)
			}
			if tc.wantRejected.Future > 0 {
				sameTimeline(t, describe(out), []string{"detected errors{s} +2000ms"})
			}
		})
	}
}

// Event time is kept per series: one point 50s ahead on an unrelated metric
// and service, accepted because it is inside the skew the caller allows,
// moves time for its own series only. The model-server's points after it are
// not late, and its fault is detected from its own data.
func TestAFuturePointOnOneSeriesDoesNotBlindOthers(t *testing.T) {
	gatewayRule := errorRule()
	gatewayRule.Name, gatewayRule.Metric = "gateway", "request.error"
	e := newEngine(t, errorRule(), gatewayRule)
	gw := func(from, to int) []events.Point { return pts("request.error", "gateway", "f", from, to, 20, 0) }
	fs := func(from, to int) []events.Point {
		return pts("feature.latency_ms", "feature-service", "f", from, to, 20, 5)
	}
	ms := func(from, to int, v float64) []events.Point {
		return pts(errMetric, "model-server", "f", from, to, 20, v)
	}
	future := pts("request.error", "gateway", "f", 52_000, 52_001, 1, 0)
	out := run(e,
		cat(gw(0, 2000), fs(0, 2000), ms(0, 2000, 0)),
		future,
		cat(gw(2000, 3000), fs(2000, 3000), ms(2000, 3000, 1)),
		cat(gw(3000, 4000), fs(3000, 4000), ms(3000, 4000, 1)))
	sameTimeline(t, describe(out), []string{"detected errors{model-server} +2000ms"})
}

// Values that are not finite are rejected and counted: they would otherwise
// fire (+Inf > threshold) or poison an average.
func TestNonFiniteValuesNeverFire(t *testing.T) {
	e := newEngine(t, errorRule())
	bad := pts(errMetric, "s", "f", 0, 3000, 20, inf)
	for i := 0; i < len(bad); i += 2 {
		bad[i].Value = nan
	}
	if got := e.Observe(bad, 0, noLimit); got.NotFinite != len(bad) {
		t.Fatalf("rejected %+v, want all %d points as not finite", got, len(bad))
	}
	sameTimeline(t, describe(e.Evaluate(wallClock)), nil)
}

// byTime cuts time-ordered points into batches spanning d of event time.
func byTime(p []events.Point, d int64) [][]events.Point {
	var out [][]events.Point
	for len(p) > 0 {
		end := p[0].TimeUnixNano - p[0].TimeUnixNano%d + d
		i := 0
		for i < len(p) && p[i].TimeUnixNano < end {
			i++
		}
		out, p = append(out, p[:i]), p[i:]
	}
	return out
}

// Points stamped before the caller's lower limit (backfill of recorded
// telemetry) are left out and counted: a fault in them raises nothing,
// while the same fault inside the limit fires.
func TestPointsBeforeTheLimitAreRejected(t *testing.T) {
	fault := cat(pts(errMetric, "s", "f", 0, 2000, 20, 0), pts(errMetric, "s", "f", 2000, 4000, 20, 1))
	tests := []struct {
		name      string
		notBefore int64
		want      []string
	}{
		{name: "older than the limit", notBefore: t0 + ms(4000), want: nil},
		{name: "at the limit or newer", notBefore: t0, want: []string{"detected errors{s} +2000ms"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, errorRule())
			rej := e.Observe(fault, tc.notBefore, noLimit)
			if wantOld := len(tc.want) == 0; (rej.TooOld == len(fault)) != wantOld || rej.Total() != rej.TooOld {
				t.Fatalf("rejected %+v of %d points", rej, len(fault))
			}
			sameTimeline(t, describe(e.Evaluate(wallClock)), tc.want)
		})
	}
}
