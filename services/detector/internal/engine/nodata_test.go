package engine

import (
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/detector/internal/rules"
)

// quiet evaluates without new points at each of the wall-clock offsets
// from wallClock, as the detector's ticks do once telemetry stops.
func quiet(e *Engine, offsets ...time.Duration) []Emission {
	var out []Emission
	for _, d := range offsets {
		out = append(out, e.Evaluate(wallClock.Add(d))...)
	}
	return out
}

// withReasons is describe with a resolution's reason, and a detection's
// detector when it is no_data.
func withReasons(out []Emission) []string {
	s := describe(out)
	for i, em := range out {
		switch d := em.Data.(type) {
		case events.AnomalyResolved:
			if d.Reason != "" {
				s[i] += " (" + d.Reason + ")"
			}
		case events.AnomalyDetected:
			if d.Detector == DetectorNoData {
				s[i] += " (no_data: " + d.Summary + ")"
			}
		}
	}
	return s
}

// When every source stops, a series moves on by the wall clock: the
// window (100ms) of errors{s} empties at 3980+100ms, no_data_after
// (default: the window) later no_data acts, at the 4200ms step, which the
// stream time reaches (less the window) 4300-3980 = 320ms of wall clock
// after the last batch.
func TestNoDataWhenAllTelemetryStops(t *testing.T) {
	ok := func(from, to int) []events.Point { return pts(errMetric, "s", "f", from, to, 20, 0) }
	bad := func(from, to int) []events.Point { return pts(errMetric, "s", "f", from, to, 20, 1) }
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	tests := []struct {
		name    string
		noData  string
		before  [][]events.Point
		offsets []time.Duration // wall clock after the last batch
		after   [][]events.Point
		want    []string
	}{
		{name: "resolve: a firing alert resolves, saying why", noData: rules.NoDataResolve,
			before: [][]events.Point{ok(0, 2000), bad(2000, 4000)}, offsets: []time.Duration{ms(300), ms(400)},
			want: []string{"detected errors{s} +2000ms", "resolved errors{s} (no_data)"}},
		{name: "resolve: not before no_data_after", noData: rules.NoDataResolve,
			before: [][]events.Point{ok(0, 2000), bad(2000, 4000)}, offsets: []time.Duration{ms(100), ms(300)},
			want: []string{"detected errors{s} +2000ms"}},
		{name: "unset is resolve",
			before: [][]events.Point{ok(0, 2000), bad(2000, 4000)}, offsets: []time.Duration{ms(400)},
			want: []string{"detected errors{s} +2000ms", "resolved errors{s} (no_data)"}},
		{name: "fire: a healthy series that stops fires, from its last point", noData: rules.NoDataFire,
			before: [][]events.Point{ok(0, 2000)}, offsets: []time.Duration{ms(300), ms(400), ms(5000)},
			want: []string{"detected errors{s} +1980ms (no_data: no data for 200ms: errors{model=f, service=s})"}},
		{name: "fire: data coming back resolves it", noData: rules.NoDataFire,
			before: [][]events.Point{ok(0, 2000)}, offsets: []time.Duration{ms(400)}, after: [][]events.Point{ok(3000, 3500)},
			want: []string{"detected errors{s} +1980ms (no_data: no data for 200ms: errors{model=f, service=s})",
				"resolved errors{s} (data_returned)"}},
		{name: "fire: a firing alert stays firing through the silence", noData: rules.NoDataFire,
			before: [][]events.Point{ok(0, 2000), bad(2000, 4000)}, offsets: []time.Duration{ms(400), ms(60_000)},
			want: []string{"detected errors{s} +2000ms"}},
		{name: "keep: a firing alert stays firing", noData: rules.NoDataKeep,
			before: [][]events.Point{ok(0, 2000), bad(2000, 4000)}, offsets: []time.Duration{ms(400), ms(60_000)},
			want: []string{"detected errors{s} +2000ms"}},
		{name: "keep: and resolves when healthy data returns", noData: rules.NoDataKeep,
			before: [][]events.Point{ok(0, 2000), bad(2000, 4000)}, offsets: []time.Duration{ms(400)}, after: [][]events.Point{ok(5000, 6000)},
			want: []string{"detected errors{s} +2000ms", "resolved errors{s}"}},
		{name: "keep: a quiet healthy series fires nothing", noData: rules.NoDataKeep,
			before: [][]events.Point{ok(0, 2000)}, offsets: []time.Duration{ms(400), ms(60_000)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := errorRule()
			r.NoData = tc.noData
			e := newEngine(t, r)
			out := run(e, tc.before...)
			out = append(out, quiet(e, tc.offsets...)...)
			for _, b := range tc.after {
				e.Observe(b, 0, noLimit)
				out = append(out, e.Evaluate(wallClock.Add(tc.offsets[len(tc.offsets)-1]))...)
			}
			sameTimeline(t, withReasons(out), tc.want)
			for _, em := range out {
				checkSchema(t, em)
			}
		})
	}
}

// no_data_after sets how long the window must have been empty.
func TestNoDataAfter(t *testing.T) {
	r := errorRule()
	r.NoData, r.NoDataAfter = rules.NoDataFire, ptr(time.Second)
	e := newEngine(t, r)
	run(e, pts(errMetric, "s", "f", 0, 2000, 20, 0))
	if out := quiet(e, 1100*time.Millisecond); len(out) != 0 {
		t.Fatalf("fired before no_data_after: %v", withReasons(out))
	}
	// 1980 + 100 (window) + 1000 (no_data_after) = 3080: the 3100 step,
	// which the stream time less the window reaches at 3200-1980 = 1220ms.
	out := quiet(e, 1300*time.Millisecond)
	sameTimeline(t, withReasons(out), []string{"detected errors{s} +1980ms (no_data: no data for 1.1s: errors{model=f, service=s})"})
}

// Series that do get data stay on event time, however the wall clock
// moves between batches: a batch evaluated an hour late gives the same
// answer.
func TestWallClockDoesNotMoveSeriesThatGetData(t *testing.T) {
	points := split(cat(pts(errMetric, "s", "f", 0, 2000, 20, 0), pts(errMetric, "s", "f", 2000, 4000, 20, 1),
		pts(errMetric, "s", "f", 4000, 6000, 20, 0)), 50)
	want := describe(run(newEngine(t, errorRule()), points...))
	e := newEngine(t, errorRule())
	var out []Emission
	for i, b := range points {
		e.Observe(b, 0, noLimit)
		out = append(out, e.Evaluate(wallClock.Add(time.Duration(i)*time.Hour))...)
	}
	sameTimeline(t, describe(out), want)
	if len(want) != 2 {
		t.Fatalf("want a detection and a resolution, got %v", want)
	}
}

// A detector restarted while every source is silent still resolves the
// alerts it restored: with no point at all, the wall clock stands in for
// event time.
func TestRestoredAlertResolvesWithNoTelemetryAtAll(t *testing.T) {
	d := firedBefore(t)
	e := newEngine(t, errorRule())
	out := e.Restore([]events.AnomalyDetected{d}, wallClock)
	out = append(out, quiet(e, 0, 100*time.Millisecond)...)
	if len(out) != 0 {
		t.Fatalf("resolved before no_data_after: %v", withReasons(out))
	}
	out = quiet(e, 400*time.Millisecond)
	if len(out) != 1 || out[0].Data.(events.AnomalyResolved).AnomalyID != d.AnomalyID {
		t.Fatalf("want the restored anomaly resolved, got %v", withReasons(out))
	}
}

func ptr[T any](v T) *T { return &v }

// checkSchema validates an emission against its event's JSON Schema.
func checkSchema(t *testing.T, em Emission) {
	t.Helper()
	if err := events.ValidateData(em.Data.EventType(), mustJSON(t, em.Data)); err != nil {
		t.Fatalf("%s breaks its schema: %v", em.Data.EventType(), err)
	}
}

// The wall clock's guess gives way to the points' own time: a restored
// alert quiet on the wall clock, whose telemetry then comes, replayed from
// a minute ago, is judged on that telemetry.
func TestWallClockGuessGivesWayToPoints(t *testing.T) {
	d := firedBefore(t)
	e := newEngine(t, errorRule())
	out := e.Restore([]events.AnomalyDetected{d}, wallClock)
	out = append(out, quiet(e, 0, 50*time.Millisecond)...) // less than no_data_after
	out = append(out, run(e, pts(errMetric, "s", "f", 4000, 6000, 20, 1))...)
	if len(out) != 0 {
		t.Fatalf("the fault goes on, yet: %v", withReasons(out))
	}
	out = run(e, pts(errMetric, "s", "f", 6000, 8000, 20, 0))
	sameTimeline(t, withReasons(out), []string{"resolved errors{s}"})
}
