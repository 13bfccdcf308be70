package engine

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/detector/internal/rules"
)

const latency = "prediction.latency_ms"

// latencyRule is a baseline-relative rule on the average latency over a 1s
// window, over a 30s baseline: 300 steps of 100ms.
func latencyRule(detector, op string) rules.Rule {
	resolve := 500 * time.Millisecond
	return rules.Rule{Name: "latency", Metric: latency, GroupBy: []string{"service"}, Aggregate: "avg",
		Window: time.Second, Op: op, For: 500 * time.Millisecond, ResolveFor: &resolve, MinPoints: 5,
		Severity: "warning", Detector: detector, Baseline: baselineIf(detector, 30*time.Second),
		Summary: "latency {{num .Value}} vs {{num .Expected}} (z {{num .Statistic}})"}
}

func baselineIf(detector string, d time.Duration) time.Duration {
	if detector == rules.DetectorZScore {
		return d
	}
	return 0
}

// noisy makes latency points every 20ms in [from, to) ms after t0, normal
// around mean with standard deviation sd, from a seeded source.
func noisy(rng *rand.Rand, from, to int, mean, sd float64) []events.Point {
	var out []events.Point
	for at := from; at < to; at += 20 {
		out = append(out, events.Point{Name: latency, Value: mean + sd*rng.NormFloat64(), TimeUnixNano: t0 + ms(at),
			Service: "model-server", Model: "fraud", ModelVersion: "v1"})
	}
	return out
}

func shortFault(rng *rand.Rand) [][]events.Point {
	return [][]events.Point{noisy(rng, 0, 1500, 100, 10), noisy(rng, 1500, 2500, 200, 10), noisy(rng, 2500, 10_000, 100, 10)}
}

// roundStarts is describe with each start rounded to the nearest 500ms: a
// baseline rule's run starts at the first point of the first step whose own
// aggregate leaves the band, which noise may make a step before the fault.
func roundStarts(out []Emission) []string {
	for i, em := range out {
		if d, ok := em.Data.(events.AnomalyDetected); ok {
			half := ms(500)
			d.StartedUnixNano = t0 + (d.StartedUnixNano-t0+half/2)/half*half
			out[i].Data = d
		}
	}
	return describe(out)
}

func TestBaselineDetectors(t *testing.T) {
	for _, detector := range []string{rules.DetectorZScore, rules.DetectorEWMA} {
		t.Run(detector, func(t *testing.T) {
			tests := []struct {
				name        string
				op          string
				minBaseline int
				batches     func(rng *rand.Rand) [][]events.Point
				want        []string
			}{
				{name: "healthy noise stays quiet", op: rules.OpAbs, batches: func(rng *rand.Rand) [][]events.Point {
					return split(noisy(rng, 0, 120_000, 100, 10), 500)
				}},
				{name: "a step up fires, from about the step", op: ">", batches: func(rng *rand.Rand) [][]events.Point {
					return [][]events.Point{noisy(rng, 0, 60_000, 100, 10), noisy(rng, 60_000, 64_000, 200, 10)}
				}, want: []string{"detected latency{model-server} +60000ms"}},
				{name: "a step up does not fire a `<` rule", op: "<", batches: func(rng *rand.Rand) [][]events.Point {
					return [][]events.Point{noisy(rng, 0, 60_000, 100, 10), noisy(rng, 60_000, 64_000, 200, 10)}
				}},
				{name: "a drop fires a `<` rule", op: "<", batches: func(rng *rand.Rand) [][]events.Point {
					return [][]events.Point{noisy(rng, 0, 60_000, 100, 10), noisy(rng, 60_000, 64_000, 20, 10)}
				}, want: []string{"detected latency{model-server} +60000ms"}},
				{name: "a drop fires an abs rule", op: rules.OpAbs, batches: func(rng *rand.Rand) [][]events.Point {
					return [][]events.Point{noisy(rng, 0, 60_000, 100, 10), noisy(rng, 60_000, 64_000, 20, 10)}
				}, want: []string{"detected latency{model-server} +60000ms"}},
				{name: "a blip shorter than for does not fire", op: ">", batches: func(rng *rand.Rand) [][]events.Point {
					return [][]events.Point{noisy(rng, 0, 60_000, 100, 10), noisy(rng, 60_000, 60_300, 200, 10), noisy(rng, 60_300, 64_000, 100, 10)}
				}},
				{name: "the fault clears: resolves", op: ">", batches: func(rng *rand.Rand) [][]events.Point {
					return [][]events.Point{noisy(rng, 0, 60_000, 100, 10), noisy(rng, 60_000, 64_000, 200, 10), noisy(rng, 64_000, 70_000, 100, 10)}
				}, want: []string{"detected latency{model-server} +60000ms", "resolved latency{model-server}"}},
				// A fault from 1.5s to 2.5s is over before the baseline has
				// min_baseline_points (30) steps, at 3s or later.
				{name: "no firing on too short a baseline", op: ">", batches: shortFault},
				{name: "with min_baseline_points 5 the same fault fires", op: ">", minBaseline: 5, batches: shortFault,
					want: []string{"detected latency{model-server} +1500ms", "resolved latency{model-server}"}},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					r := latencyRule(detector, tc.op)
					r.MinBaselinePoints = tc.minBaseline
					e := newEngine(t, r)
					out := run(e, tc.batches(rand.New(rand.NewPCG(7, 9)))...)
					sameTimeline(t, roundStarts(out), tc.want)
					for _, em := range out {
						checkSchema(t, em)
					}
				})
			}
		})
	}
}

// Every anomaly of a baseline-relative rule carries what it was judged
// on: the baseline's centre, the z-score, the window and the baseline.
func TestBaselineEvidence(t *testing.T) {
	tests := []struct {
		detector     string
		baselineSecs float64
	}{
		{detector: rules.DetectorZScore, baselineSecs: 30},
		{detector: rules.DetectorEWMA, baselineSecs: 1}, // mean age 1/alpha steps: 10 x 100ms
	}
	for _, tc := range tests {
		t.Run(tc.detector, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, 9))
			r := latencyRule(tc.detector, ">")
			r.For = 2 * time.Second // a long wait, during which the fault must not become normal
			out := run(newEngine(t, r), noisy(rng, 0, 60_000, 100, 10), noisy(rng, 60_000, 66_000, 200, 10))
			if len(out) != 1 {
				t.Fatalf("want one anomaly, got %v", describe(out))
			}
			d := out[0].Data.(events.AnomalyDetected)
			if d.Detector != tc.detector || d.Expected == nil || d.Statistic == nil || d.PValue != nil {
				t.Fatalf("evidence: detector %q expected %v statistic %v p_value %v", d.Detector, d.Expected, d.Statistic, d.PValue)
			}
			checks := []struct {
				name string
				ok   bool
				got  any
			}{
				{name: "expected is the healthy level", ok: math.Abs(*d.Expected-100) < 3, got: *d.Expected},
				{name: "statistic is past the limit", ok: *d.Statistic > rules.DefaultDeviations, got: *d.Statistic},
				{name: "value is the faulty level", ok: d.Value > 180, got: d.Value},
				{name: "threshold is the z limit", ok: d.Threshold == rules.DefaultDeviations, got: d.Threshold},
				{name: "window_seconds", ok: d.WindowSeconds == 1, got: d.WindowSeconds},
				{name: "baseline_seconds", ok: math.Abs(d.BaselineSeconds-tc.baselineSecs) < 1e-9, got: d.BaselineSeconds},
				{name: "summary uses the evidence", ok: d.Summary != "" && d.Summary[:8] == "latency ", got: d.Summary},
			}
			for _, c := range checks {
				if !c.ok {
					t.Errorf("%s: got %v", c.name, c.got)
				}
			}
			checkSchema(t, out[0])
		})
	}
}

// A threshold rule's evidence is its threshold.
func TestThresholdEvidence(t *testing.T) {
	out := run(newEngine(t, errorRule()), pts(errMetric, "s", "f", 0, 2000, 20, 1))
	d := out[0].Data.(events.AnomalyDetected)
	if d.Detector != rules.DetectorThreshold || d.Expected == nil || *d.Expected != 0.5 || d.Statistic != nil || d.WindowSeconds != 0.1 {
		t.Fatalf("got detector %q expected %v statistic %v window %v", d.Detector, d.Expected, d.Statistic, d.WindowSeconds)
	}
}

// A flat baseline has a MAD (or variance) of 0; its spread floor (0.1% of
// the centre) keeps the z-score finite: flat data stays quiet, and a 10%
// rise fires.
func TestFlatBaseline(t *testing.T) {
	for _, detector := range []string{rules.DetectorZScore, rules.DetectorEWMA} {
		t.Run(detector, func(t *testing.T) {
			flat := pts(latency, "model-server", "fraud", 0, 60_000, 20, 100)
			if out := run(newEngine(t, latencyRule(detector, rules.OpAbs)), flat); len(out) != 0 {
				t.Fatalf("flat data fired: %v", describe(out))
			}
			out := run(newEngine(t, latencyRule(detector, rules.OpAbs)), flat, pts(latency, "model-server", "fraud", 60_000, 62_000, 20, 110))
			if len(out) != 1 {
				t.Fatalf("want one anomaly, got %v", describe(out))
			}
			if z := *out[0].Data.(events.AnomalyDetected).Statistic; math.IsInf(z, 0) || math.IsNaN(z) {
				t.Fatalf("z-score %v", z)
			}
		})
	}
}

// A zscore series keeps one float32 per two steps of its baseline and window,
// however many points it gets.
func TestZScoreRingIsBounded(t *testing.T) {
	e := newEngine(t, latencyRule(rules.DetectorZScore, ">"))
	run(e, split(noisy(rand.New(rand.NewPCG(1, 1)), 0, 120_000, 100, 10), 1000)...)
	for _, s := range e.rules[0].series {
		if n := len(s.base.(*zscoreBaseline).vals); n != 156 {
			t.Fatalf("ring holds %d values, want 156 (30s baseline + 1s window over 100ms, a slot each 200ms, and the slot being filled)", n)
		}
	}
}

func TestNewRejectsTooLongABaseline(t *testing.T) {
	r := latencyRule(rules.DetectorZScore, ">")
	r.Baseline = time.Hour // 36,000 steps of 100ms
	if _, err := New([]rules.Rule{r}, step); err == nil {
		t.Fatal("want an error")
	}
}

// A restarted detector rebuilds its baselines from the telemetry that
// comes next. On healthy data it fires nothing while they rebuild; an
// alert it restores mid-fault is judged by the band it fired on (from its
// evidence), so the fault, which is all the new baseline has seen, does
// not resolve it; once the data is healthy it resolves under its id.
func TestBaselineRestart(t *testing.T) {
	for _, detector := range []string{rules.DetectorZScore, rules.DetectorEWMA} {
		t.Run(detector, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 4))
			r := latencyRule(detector, ">")
			before := run(newEngine(t, r), noisy(rng, 0, 60_000, 100, 10), noisy(rng, 60_000, 64_000, 200, 10))
			if len(before) != 1 {
				t.Fatalf("want one anomaly before the restart, got %v", describe(before))
			}
			d := before[0].Data.(events.AnomalyDetected)

			healthy := newEngine(t, r)
			if out := run(healthy, split(noisy(rng, 64_000, 124_000, 100, 10), 100)...); len(out) != 0 {
				t.Fatalf("a restart on healthy data fired: %v", describe(out))
			}

			restored := newEngine(t, r)
			out := restored.Restore([]events.AnomalyDetected{d}, wallClock)
			out = append(out, run(restored, split(noisy(rng, 64_000, 104_000, 200, 10), 100)...)...)
			if len(out) != 0 {
				t.Fatalf("the fault went on after the restart, yet: %v", describe(out))
			}
			out = run(restored, noisy(rng, 104_000, 110_000, 100, 10))
			if len(out) != 1 || out[0].Data.(events.AnomalyResolved).AnomalyID != d.AnomalyID {
				t.Fatalf("want the restored anomaly resolved once healthy, got %v", describe(out))
			}
		})
	}
}

// A zscore ring over windows of 10 steps or more keeps every other step's
// window aggregate; judged on every step's instead, the same faults fire
// the same anomalies, from the same starts give or take a stride. (How often each fires on
// healthy noise is BenchmarkZScoreStride's to measure: a z-score near the
// limit may tip either way.)
func TestZScoreStrideJudgesAsEveryStep(t *testing.T) {
	r := latencyRule(rules.DetectorZScore, rules.OpAbs)
	r.Window, r.Baseline = 3*time.Second, time.Minute // 30 steps
	faults := []int{90_000, 120_000, 160_000}
	for seed := range uint64(10) {
		rng := rand.New(rand.NewPCG(seed, 9))
		data := [][]events.Point{
			noisy(rng, 0, faults[0], 100, 10),
			noisy(rng, faults[0], faults[0]+600, 160, 10), // a spike
			noisy(rng, faults[0]+600, faults[1], 100, 10),
			noisy(rng, faults[1], faults[1]+10_000, 140, 10), // a sustained rise
			noisy(rng, faults[1]+10_000, faults[2], 100, 10),
			noisy(rng, faults[2], faults[2]+10_000, 70, 10), // a drop
			noisy(rng, faults[2]+10_000, 200_000, 100, 10),
		}
		strided := newEngine(t, r)
		if s := strided.rules[0].ringStride; s != 2 {
			t.Fatalf("stride %d steps, want 2", s)
		}
		every := newEngine(t, r)
		every.rules[0].ringStride = 1
		every.rules[0].ringLen = int(every.rules[0].windowSteps+every.rules[0].baselineSteps) + 1
		got, want := faultStarts(run(strided, data...), faults), faultStarts(run(every, data...), faults)
		near := func(a, b int64) bool { return a-b <= 200 && b-a <= 200 }
		if len(want) != len(faults) || !slices.EqualFunc(got, want, near) {
			t.Fatalf("seed %d: every other step caught the faults at %v; every step at %v (ms, want one each)", seed, got, want)
		}
	}
}

// faultStarts are the starts (ms after t0) of the anomalies detected within
// a second of a fault's start.
func faultStarts(out []Emission, faults []int) []int64 {
	var starts []int64
	for _, em := range out {
		d, ok := em.Data.(events.AnomalyDetected)
		if !ok {
			continue
		}
		at := (d.StartedUnixNano - t0) / ms(1)
		if slices.ContainsFunc(faults, func(f int) bool { return at >= int64(f)-1000 && at <= int64(f)+1000 }) {
			starts = append(starts, at)
		}
	}
	return starts
}
