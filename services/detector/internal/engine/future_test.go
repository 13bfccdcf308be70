package engine

import (
	"testing"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/detector/internal/rules"
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

// The default rules over telemetry at the simulator's rate (50 points/s):
// a blip of missing features shorter than `for` fires nothing, however much
// it lifts the 10s average; a sustained fault fires once it has held in the
// data for `for`, stamped with the time of its first bad point.
func TestDefaultRulesBlipsAndFaults(t *testing.T) {
	f, err := rules.Load("")
	if err != nil {
		t.Fatal(err)
	}
	const every = 20 // ms, 50 points/s
	missing := func(from, to int, v float64) []events.Point {
		return pts("feature.missing_ratio", "feature-service", "fraud", from, to, every, v)
	}
	// errorsAt is a bad model version from `from` on: 7 failed requests in 20.
	errorsAt := func(from, to int) []events.Point {
		p := pts(errMetric, "model-server", "fraud", 0, to, every, 0)
		n := 0
		for i := range p {
			if p[i].TimeUnixNano >= t0+ms(from) {
				if n%20 < 7 {
					p[i].Value = 1
				}
				n++
			}
		}
		return p
	}
	tests := []struct {
		name        string
		points      []events.Point
		wantStarted int64 // ms after t0; 0 = nothing fires
	}{
		{name: "1s blip", points: cat(missing(0, 20_000, 0), missing(20_000, 21_000, 1), missing(21_000, 40_000, 0))},
		{name: "2s blip", points: cat(missing(0, 20_000, 0), missing(20_000, 22_000, 1), missing(22_000, 40_000, 0))},
		{name: "sustained missing features", points: cat(missing(0, 20_000, 0), missing(20_300, 40_000, 1)), wantStarted: 20_300},
		{name: "bad model version", points: errorsAt(20_300, 40_000), wantStarted: 20_300},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := New(f.Rules, DefaultStep)
			if err != nil {
				t.Fatal(err)
			}
			// Batches of 250ms, as the simulator flushes; note the event time
			// the detection came at.
			var fired []events.AnomalyDetected
			var at int64
			for _, b := range byTime(tc.points, ms(250)) {
				e.Observe(b, 0, noLimit)
				for _, em := range e.Evaluate(wallClock) {
					if d, ok := em.Data.(events.AnomalyDetected); ok {
						fired, at = append(fired, d), b[len(b)-1].TimeUnixNano
					}
				}
			}
			if tc.wantStarted == 0 {
				if len(fired) != 0 {
					t.Fatalf("fired %d anomalies, want none: %s", len(fired), fired[0].Summary)
				}
				return
			}
			if len(fired) != 1 {
				t.Fatalf("fired %d anomalies, want one", len(fired))
			}
			if got := (fired[0].StartedUnixNano - t0) / ms(1); got != tc.wantStarted {
				t.Errorf("started at +%dms, want the first bad point, +%dms", got, tc.wantStarted)
			}
			if lag := at - fired[0].StartedUnixNano; lag < ms(3000) || lag > ms(5000) {
				t.Errorf("detected %dms of event time after the start, want `for` (3s) to about 5s", lag/ms(1))
			}
		})
	}
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
