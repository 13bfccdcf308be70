package engine

import (
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/detector/internal/rules"
)

const errMetric = "prediction.error"

func TestStateMachine(t *testing.T) {
	ok := func(from, to int) []events.Point { return pts(errMetric, "model-server", "fraud", from, to, 20, 0) }
	bad := func(from, to int) []events.Point { return pts(errMetric, "model-server", "fraud", from, to, 20, 1) }
	other := func(from, to int) []events.Point { return pts("request.error", "gateway", "fraud", from, to, 20, 0) }
	// The window is one step (100ms) long, so the condition follows the
	// data: a burst fires once it has held for more than `for` (500ms), and
	// the anomaly's start is the burst's first bad point.
	tests := []struct {
		name    string
		match   map[string]string
		batches [][]events.Point
		want    []string
	}{
		{name: "clean stays quiet", batches: [][]events.Point{ok(0, 5000)}},
		{name: "fires after for", batches: [][]events.Point{ok(0, 2000), bad(2000, 4000)},
			want: []string{"detected errors{model-server} +2000ms"}},
		{name: "one big batch gives the same answer", batches: [][]events.Point{cat(ok(0, 2000), bad(2000, 4000))},
			want: []string{"detected errors{model-server} +2000ms"}},
		{name: "many small batches give the same answer", batches: split(cat(ok(0, 2000), bad(2000, 4000)), 7),
			want: []string{"detected errors{model-server} +2000ms"}},
		{name: "shorter than for stays pending", batches: [][]events.Point{ok(0, 2000), bad(2000, 2500), ok(2500, 5000)}},
		{name: "resolves after resolve_for", batches: [][]events.Point{ok(0, 2000), bad(2000, 4000), ok(4000, 6000)},
			want: []string{"detected errors{model-server} +2000ms", "resolved errors{model-server}"}},
		{name: "a dip shorter than resolve_for does not resolve (hysteresis)",
			batches: [][]events.Point{ok(0, 2000), bad(2000, 4000), ok(4000, 4300), bad(4300, 6000)},
			want:    []string{"detected errors{model-server} +2000ms"}},
		{name: "no data resolves once resolve_for passed",
			batches: [][]events.Point{ok(0, 2000), bad(2000, 4000), other(4000, 6000)},
			want:    []string{"detected errors{model-server} +2000ms", "resolved errors{model-server}"}},
		// The window (100ms) empties at 4080ms, and no_data_after (default:
		// the window) has not passed by the 4100ms step, the last the
		// quorum (4230ms) less the window reaches.
		{name: "no data resolves only after no_data_after",
			batches: [][]events.Point{ok(0, 2000), bad(2000, 4000), other(4000, 4250)},
			want:    []string{"detected errors{model-server} +2000ms"}},
		{name: "fires again after resolving, with a new start",
			batches: [][]events.Point{ok(0, 2000), bad(2000, 4000), ok(4000, 6000), bad(6000, 8000)},
			want: []string{"detected errors{model-server} +2000ms", "resolved errors{model-server}",
				"detected errors{model-server} +6000ms"}},
		{name: "too few points decide nothing",
			batches: [][]events.Point{pts(errMetric, "model-server", "fraud", 0, 5000, 250, 1)}},
		{name: "points that fail match do not count", match: map[string]string{"service": "model-server"},
			batches: [][]events.Point{pts(errMetric, "gateway", "fraud", 0, 5000, 20, 1)}},
		{name: "points that pass match count", match: map[string]string{"service": "model-server"},
			batches: [][]events.Point{pts(errMetric, "model-server", "fraud", 0, 5000, 20, 1)},
			want:    []string{"detected errors{model-server} +0ms"}}, // fires once min_points (5) are in
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := errorRule()
			r.Match = tc.match
			sameTimeline(t, describe(run(newEngine(t, r), tc.batches...)), tc.want)
		})
	}
}

// split cuts points into batches of n.
func split(p []events.Point, n int) [][]events.Point {
	var out [][]events.Point
	for len(p) > n {
		out = append(out, p[:n])
		p = p[n:]
	}
	return append(out, p)
}

// A longer window lags, but the anomaly's start does not: with a 1s window
// (t-1s, t] and values 0 then 1 every 20ms from 2000ms, the average passes
// 0.5 only at the 2500ms step, yet the anomaly starts at the first bad
// point, which is what the correlator takes as the fault's start.
func TestWindowedAverageDoesNotDelayTheStart(t *testing.T) {
	r := errorRule()
	r.Window = time.Second
	out := run(newEngine(t, r), pts(errMetric, "s", "f", 0, 2000, 20, 0), pts(errMetric, "s", "f", 2000, 4000, 20, 1))
	sameTimeline(t, describe(out), []string{"detected errors{s} +2000ms"})
}

func TestForZeroFiresAtOnceAndResolveForDefaultsToFor(t *testing.T) {
	tests := []struct {
		name       string
		forDur     time.Duration
		resolveFor *time.Duration
		batches    [][]events.Point
		want       []string
	}{
		{name: "for 0 fires at the first true step", forDur: 0,
			batches: [][]events.Point{pts(errMetric, "m", "f", 0, 2000, 20, 1)}, want: []string{"detected errors{m} +0ms"}},
		{name: "resolve_for unset waits for `for` (1s), so a 700ms dip does not resolve", forDur: time.Second,
			batches: [][]events.Point{pts(errMetric, "m", "f", 0, 3000, 20, 1), pts(errMetric, "m", "f", 3000, 3700, 1, 0)},
			want:    []string{"detected errors{m} +0ms"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := errorRule()
			r.For, r.ResolveFor, r.MinPoints = tc.forDur, tc.resolveFor, 1
			sameTimeline(t, describe(run(newEngine(t, r), tc.batches...)), tc.want)
		})
	}
}

func TestGroupsAreSeparateSeries(t *testing.T) {
	e := newEngine(t, errorRule())
	good := pts(errMetric, "model-server", "fraud", 0, 3000, 20, 0)
	bad := pts(errMetric, "model-server", "churn", 0, 3000, 20, 1)
	for i := len(bad) / 2; i < len(bad); i++ {
		bad[i].ModelVersion = "v2" // a deploy mid-way: the newest points are v2
	}
	out := run(e, cat(good, bad))
	if len(out) != 1 {
		t.Fatalf("got %d emissions, want one for the churn model: %v", len(out), describe(out))
	}
	d := out[0].Data.(events.AnomalyDetected)
	tests := []struct {
		name      string
		got, want any
	}{
		{name: "model label", got: d.Labels["model"], want: "churn"},
		{name: "service label", got: d.Labels["service"], want: "model-server"},
		{name: "model from group", got: d.Model, want: "churn"},
		{name: "version of the newest point", got: d.ModelVersion, want: "v2"},
		{name: "value is the aggregate", got: d.Value, want: 1.0},
		{name: "threshold", got: d.Threshold, want: 0.5},
		{name: "severity", got: d.Severity, want: "critical"},
		{name: "summary rendered", got: d.Summary, want: "model-server at 1"},
		{name: "detected on the wall clock", got: d.DetectedUnixNano, want: wallClock.UnixNano()},
		{name: "fingerprint from rule and labels", got: d.Fingerprint, want: fingerprint("errors", map[string]string{"model": "churn", "service": "model-server"})},
		{name: "anomaly id from fingerprint and start", got: d.AnomalyID, want: events.DerivedID(d.Fingerprint, itoa(d.StartedUnixNano))},
		{name: "event id", got: out[0].ID, want: events.DerivedID("anomaly.detected", d.Fingerprint, itoa(d.StartedUnixNano))},
		{name: "series count", got: e.Series(), want: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Fatalf("got %v, want %v", tc.got, tc.want)
			}
		})
	}
	if err := events.ValidateData(events.TypeAnomalyDetected, mustJSON(t, d)); err != nil {
		t.Fatalf("detected event breaks its schema: %v", err)
	}
}

func TestResolvedMatchesDetected(t *testing.T) {
	e := newEngine(t, errorRule())
	out := run(e, pts(errMetric, "s", "f", 0, 3000, 20, 1), pts(errMetric, "s", "f", 3000, 6000, 20, 0))
	if len(out) != 2 {
		t.Fatalf("want detected then resolved, got %v", describe(out))
	}
	d, r := out[0].Data.(events.AnomalyDetected), out[1].Data.(events.AnomalyResolved)
	if r.AnomalyID != d.AnomalyID || r.Fingerprint != d.Fingerprint {
		t.Errorf("resolved %s/%s does not name detected %s/%s", r.AnomalyID, r.Fingerprint, d.AnomalyID, d.Fingerprint)
	}
	if want := events.DerivedID("anomaly.resolved", d.Fingerprint, itoa(d.StartedUnixNano)); out[1].ID != want {
		t.Errorf("resolved event id %s, want %s", out[1].ID, want)
	}
	if r.Value > 0.5 {
		t.Errorf("resolved value %v should be below the threshold", r.Value)
	}
	if err := events.ValidateData(events.TypeAnomalyResolved, mustJSON(t, r)); err != nil {
		t.Fatalf("resolved event breaks its schema: %v", err)
	}
}

func TestReplayGivesSameIDs(t *testing.T) {
	points := cat(pts(errMetric, "s", "f", 0, 2000, 20, 0), pts(errMetric, "s", "f", 2000, 4000, 20, 1))
	first := run(newEngine(t, errorRule()), points)
	// A restarted detector sees the same telemetry in other batch sizes.
	second := run(newEngine(t, errorRule()), split(points, 33)...)
	if len(first) != 1 || len(second) != 1 || first[0].ID != second[0].ID {
		t.Fatalf("replay ids differ: %v vs %v", first, second)
	}
}

func TestMemoryIsBounded(t *testing.T) {
	e := newEngine(t, errorRule())
	run(e, pts(errMetric, "a", "f", 0, 2000, 20, 0), pts(errMetric, "b", "f", 0, 30000, 20, 0))
	tests := []struct {
		name      string
		got, want int
	}{
		// a's points left the window and it never alerted, so it is gone.
		{name: "idle series evicted", got: e.Series(), want: 1},
		// b keeps about one window and one step (200ms / 20ms) of points,
		// not 30s worth.
		{name: "window evicted", got: len(e.rules[0].series[string(groupKeyOf(e, "b"))].pts), want: 200/20 + 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got > tc.want {
				t.Fatalf("got %d, want at most %d", tc.got, tc.want)
			}
		})
	}
}

func TestLateAndOutOfOrderPoints(t *testing.T) {
	e := newEngine(t, errorRule())
	run(e, pts(errMetric, "s", "f", 0, 3000, 20, 0))
	late := pts(errMetric, "s", "f", 2500, 2600, 20, 1)     // before the window: dropped
	shuffled := pts(errMetric, "s", "f", 2930, 2990, 10, 1) // inside it: inserted in order
	e.Observe(cat(late, shuffled), 0, noLimit)
	s := e.rules[0].series[string(groupKeyOf(e, "s"))]
	for i := 1; i < len(s.pts); i++ {
		if s.pts[i].t < s.pts[i-1].t {
			t.Fatalf("window out of order at %d", i)
		}
	}
	// Kept from the first run: the points after the last step's window start,
	// (2800ms, 2980ms] every 20ms.
	kept := (2980-2820)/20 + 1
	if len(s.pts) != kept+len(shuffled) {
		t.Errorf("window holds %d points, want %d kept plus %d inserted", len(s.pts), kept, len(shuffled))
	}
	if s.pts[0].t <= t0+ms(2800) {
		t.Fatalf("a point older than the window was kept: +%dms", (s.pts[0].t-t0)/ms(1))
	}
}

func TestNewRejectsBadRules(t *testing.T) {
	tests := []struct {
		name string
		edit func(*rules.Rule)
	}{
		{name: "aggregate", edit: func(r *rules.Rule) { r.Aggregate = "mean" }},
		{name: "op", edit: func(r *rules.Rule) { r.Op = "!=" }},
		{name: "summary", edit: func(r *rules.Rule) { r.Summary = "{{" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := errorRule()
			tc.edit(&r)
			if _, err := New([]rules.Rule{r}, step); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

// A value of 1e308 is finite and fires, with a short summary: the average
// of many such values does not overflow to +Inf.
func TestHugeValuesFireWithAShortSummary(t *testing.T) {
	r := errorRule()
	r.Summary = "{{.Labels.service}} at {{num .Value}}"
	out := run(newEngine(t, r), pts(errMetric, "s", "f", 0, 2000, 20, 1e308))
	if len(out) != 1 {
		t.Fatalf("want one anomaly, got %v", describe(out))
	}
	if d := out[0].Data.(events.AnomalyDetected); d.Summary != "s at 1e+308" || d.Value != 1e308 {
		t.Fatalf("got summary %q and value %v, want \"s at 1e+308\" and 1e308", d.Summary, d.Value)
	}
}
