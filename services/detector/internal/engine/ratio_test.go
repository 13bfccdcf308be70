package engine

import (
	"math"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/detector/internal/rules"
)

// ratioRule fires when errs_rate / reqs_rate is above 0.05 over 500ms for
// 300ms, and resolves after 300ms below; it needs 3 denominator points.
func ratioRule() rules.Rule {
	resolve := 300 * time.Millisecond
	return rules.Rule{Name: "ratio", Metric: "errs_rate", Denominator: "reqs_rate", GroupBy: []string{"service", "model"},
		Aggregate: rules.AggregateRatio, Window: 500 * time.Millisecond, Op: ">", Threshold: 0.05, For: 300 * time.Millisecond,
		ResolveFor: &resolve, MinPoints: 3, Severity: "critical", Summary: "{{.Metric}} at {{num .Value}}"}
}

// Counter rates exported every 50ms, as the ingest service derives them.
func reqs(from, to int, v float64) []events.Point {
	return pts("reqs_rate", "ms", "f", from, to, 50, v)
}
func errs(from, to int, v float64) []events.Point {
	return pts("errs_rate", "ms", "f", from, to, 50, v)
}

func TestRatioRule(t *testing.T) {
	// alternate has errors in every other step (100ms) from 2000ms: the
	// window's ratio is well above 0.05, but every clean step ends the run.
	var alternate []events.Point
	for at := 2000; at < 4000; at += 200 {
		alternate = append(alternate, errs(at+50, at+101, 50)...) // the step (at, at+100]
	}
	tests := []struct {
		name   string
		points []events.Point
		want   []string
	}{
		{name: "no errors stays quiet", points: reqs(0, 4000, 100)},
		{name: "20% errors fire from their first point",
			points: cat(reqs(0, 4000, 100), errs(2000, 4000, 20)),
			want:   []string{"detected ratio{ms} +2000ms"}},
		{name: "a blip shorter than for stays pending",
			points: cat(reqs(0, 4000, 100), errs(2000, 2200, 20))},
		{name: "each step must breach on its own",
			points: cat(reqs(0, 4000, 100), alternate)},
		{name: "errors under the threshold stay quiet",
			points: cat(reqs(0, 4000, 100), errs(2000, 4000, 4))},
		{name: "resolves once the errors stop",
			points: cat(reqs(0, 5000, 100), errs(2000, 3000, 20)),
			want:   []string{"detected ratio{ms} +2000ms", "resolved ratio{ms}"}},
		{name: "a zero denominator has no value and never fires",
			points: cat(reqs(0, 4000, 0), errs(0, 4000, 20))},
		{name: "a numerator without a denominator never fires",
			points: errs(0, 4000, 20)},
		{name: "min_points counts denominator points: 2 in a window are too few",
			points: cat(pts("reqs_rate", "ms", "f", 0, 4000, 250, 100), errs(0, 4000, 20))},
		{name: "traffic stopping (a zero denominator) resolves",
			points: cat(reqs(0, 3000, 100), errs(2000, 3000, 20), reqs(3000, 5000, 0)),
			want:   []string{"detected ratio{ms} +2000ms", "resolved ratio{ms}"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := run(newEngine(t, ratioRule()), byTime(sortByTime(tc.points), ms(250))...)
			sameTimeline(t, describe(out), tc.want)
			for _, em := range out {
				checkRatioEmission(t, em)
			}
		})
	}
}

// checkRatioEmission checks what a ratio anomaly says: the canonical
// expression as its metric, and a finite value.
func checkRatioEmission(t *testing.T, em Emission) {
	t.Helper()
	var metric string
	var value float64
	switch d := em.Data.(type) {
	case events.AnomalyDetected:
		// It fires at the 2400ms step, the run having held for more than
		// 300ms: the window (1900ms, 2400ms] holds 10 request rates of 100
		// and 9 error rates of 20.
		metric, value = d.Metric, d.Value
		if want := "errs_rate / reqs_rate at 0.18"; d.Summary != want {
			t.Errorf("summary %q, want %q", d.Summary, want)
		}
		if math.Abs(d.Value-0.18) > 1e-9 {
			t.Errorf("detected value %v, want 0.18", d.Value)
		}
	case events.AnomalyResolved:
		metric, value = d.Metric, d.Value
	}
	if metric != "errs_rate / reqs_rate" {
		t.Errorf("metric %q, want \"errs_rate / reqs_rate\"", metric)
	}
	if !finite(value) {
		t.Errorf("value %v is not finite", value)
	}
}

func TestRatioAggregate(t *testing.T) {
	s := func(v, k float64) sample { return sample{v: v, k: k} }
	tests := []struct {
		name   string
		pts    []sample
		want   float64
		wantN  float64
		wantOK bool
	}{
		{name: "sum over sum", pts: []sample{s(1, numerator), s(10, denominator), s(3, numerator), s(30, denominator)},
			want: 0.1, wantN: 2, wantOK: true},
		{name: "no numerator is 0", pts: []sample{s(10, denominator)}, want: 0, wantN: 1, wantOK: true},
		{name: "zero denominator has no value", pts: []sample{s(1, numerator), s(0, denominator)}, wantN: 1},
		{name: "no denominator has no value", pts: []sample{s(1, numerator)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ratio(tc.pts, &scratch{})
			if got.ok != tc.wantOK || got.n != tc.wantN || (got.ok && math.Abs(got.v-tc.want) > 1e-12) {
				t.Fatalf("got %+v, want value %v, n %v, ok %v", got, tc.want, tc.wantN, tc.wantOK)
			}
		})
	}
}
