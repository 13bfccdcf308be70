package engine

import (
	"math"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/detector/internal/mlstats"
	"github.com/medic-sre/medic/services/detector/internal/rules"
)

// evenly makes n points of a metric spread evenly over [from, from+span)
// ms after t0, the i-th with value v(i), for model fraud at version.
func evenly(name, version string, from, span, n int, v func(i int) float64) []events.Point {
	out := make([]events.Point, n)
	for i := range out {
		out[i] = events.Point{Name: name, Value: v(i), TimeUnixNano: t0 + ms(from) + int64(i)*ms(span)/int64(n),
			Service: "model-server", Model: "fraud", ModelVersion: version}
	}
	return out
}

func constant(v float64) func(int) float64 { return func(int) float64 { return v } }

// detections runs batches and returns the anomalies detected.
func detections(t *testing.T, e *Engine, batches ...[]events.Point) []events.AnomalyDetected {
	t.Helper()
	var out []events.AnomalyDetected
	for _, em := range run(e, batches...) {
		if d, ok := em.Data.(events.AnomalyDetected); ok {
			out = append(out, d)
		}
	}
	return out
}

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %v, want %v ± %v", what, got, want, tol)
	}
}

func onlyOne(t *testing.T, ds []events.AnomalyDetected) events.AnomalyDetected {
	t.Helper()
	if len(ds) != 1 {
		t.Fatalf("want 1 anomaly, got %d: %+v", len(ds), ds)
	}
	return ds[0]
}

func missingRule() rules.Rule {
	return rules.Rule{Name: "amount-missing", Detector: rules.DetectorMissingRate, Metric: "feature.amount",
		GroupBy: []string{"model"}, Window: 10 * time.Second, Threshold: 0.1, MinPoints: 50, Severity: "warning"}
}

func TestMissingRate(t *testing.T) {
	e := newEngine(t, missingRule())
	ds := detections(t, e,
		// [0s, 10s): 10 of 100 records lack the feature, 0.1, not above.
		evenly("feature.amount", "v1", 0, 10_000, 90, constant(1)),
		evenly("feature.amount.missing", "v1", 0, 10_000, 10, constant(1)),
		// [10s, 20s): 20 of 100, 0.2.
		evenly("feature.amount", "v1", 10_000, 10_000, 80, constant(1)),
		evenly("feature.amount.missing", "v1", 10_000, 10_000, 20, constant(1)),
		// [20s, 30s): 40 of 40 but under min_points, then a point past
		// the window's grace (1s) to judge it.
		evenly("feature.amount.missing", "v1", 20_000, 10_000, 40, constant(1)),
		evenly("feature.amount", "v1", 31_500, 100, 1, constant(1)),
	)
	d := onlyOne(t, ds)
	near(t, "value", d.Value, 0.2, 1e-12)
	near(t, "expected", *d.Expected, 0.1, 1e-12)
	if d.Detector != rules.DetectorMissingRate || d.StartedUnixNano != t0+ms(10_000) || d.WindowSeconds != 10 || d.ModelVersion != "v1" {
		t.Errorf("evidence: %+v", d)
	}
}

func TestOutOfRange(t *testing.T) {
	r := rules.Rule{Name: "amount-range", Detector: rules.DetectorOutOfRange, Metric: "feature.amount",
		Window: 10 * time.Second, Bounds: []float64{0, 100}, Severity: "warning"}
	e := newEngine(t, r)
	// 6 of 100 values outside [0, 100] (both bounds are in range): 0.06 > 0.05.
	values := func(i int) float64 {
		switch {
		case i < 3:
			return -1
		case i < 6:
			return 100.5
		case i < 8:
			return 100 // on the bound: in range
		}
		return 50
	}
	d := onlyOne(t, detections(t, e, evenly("feature.amount", "v1", 0, 10_000, 100, values),
		evenly("feature.amount", "v1", 11_500, 100, 1, constant(1))))
	near(t, "share", d.Value, 0.06, 1e-12)
	near(t, "expected", *d.Expected, rules.DefaultShareLimit, 0)
}

func volumeRule() rules.Rule {
	return rules.Rule{Name: "volume", Detector: rules.DetectorVolume, Metric: "inference.prediction",
		GroupBy: []string{"model"}, Window: time.Second, Baseline: 10 * time.Second, Severity: "critical"}
}

func TestVolume(t *testing.T) {
	tests := []struct {
		name      string
		last      int
		wantFired bool
		wantZ     float64
	}{
		// Baseline: 100 a second; MAD 0, so the spread is √100 = 10.
		{name: "drop to 10 is -9 spreads", last: 10, wantFired: true, wantZ: -9},
		{name: "110 is +1 spread", last: 110},
		{name: "60 is -4, not beyond 4", last: 60},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, volumeRule())
			var batches [][]events.Point
			for s := range 12 {
				batches = append(batches, evenly("inference.prediction", "v1", s*1000, 1000, 100, constant(1)))
			}
			batches = append(batches, evenly("inference.prediction", "v1", 12_000, 1000, tc.last, constant(1)),
				evenly("inference.prediction", "v1", 13_500, 100, 1, constant(1)))
			ds := detections(t, e, batches...)
			if !tc.wantFired {
				if len(ds) != 0 {
					t.Fatalf("want nothing, got %+v", ds)
				}
				return
			}
			d := onlyOne(t, ds)
			near(t, "z", *d.Statistic, tc.wantZ, 1e-12)
			near(t, "count", d.Value, float64(tc.last), 0)
			near(t, "median", *d.Expected, 100, 0)
			if d.StartedUnixNano != t0+ms(12_000) || d.BaselineSeconds != 10 {
				t.Errorf("evidence: %+v", d)
			}
		})
	}
}

// writeProfile saves a numeric profile of 0..99 in 4 bins: edges 24, 49
// and 74, a quarter each.
func writeProfile(t *testing.T) string {
	t.Helper()
	ref := make([]float64, 100)
	for i := range ref {
		ref[i] = float64(i)
	}
	p, err := mlstats.NewNumericProfile("amount", ref, mlstats.ProfileOptions{Bins: 4})
	if err != nil {
		t.Fatal(err)
	}
	return saveProfile(t, p)
}

func TestDriftPSIAgainstProfile(t *testing.T) {
	r := rules.Rule{Name: "amount-drift", Detector: rules.DetectorDrift, Metric: "feature.amount",
		Window: 10 * time.Second, Reference: &rules.Reference{Profile: writeProfile(t)}}
	e := newEngine(t, r)
	// Shares 0.1, 0.2, 0.3, 0.4 against a quarter each:
	// PSI = Σ (c−r)·ln(c/r) = 0.2282 (warning: 0.1 ≤ PSI < 0.25).
	values := func(i int) float64 {
		switch {
		case i < 100:
			return 10
		case i < 300:
			return 30
		case i < 600:
			return 60
		}
		return 90
	}
	d := onlyOne(t, detections(t, e, evenly("feature.amount", "v1", 0, 10_000, 1000, values),
		evenly("feature.amount", "v1", 11_500, 100, 1, constant(10))))
	near(t, "psi", *d.Statistic, 0.228217, 1e-5)
	if d.Severity != "warning" || d.Detector != "drift_psi" || d.PValue != nil || d.Reference == "" {
		t.Errorf("evidence: %+v", d)
	}
}

func driftRule(method string) rules.Rule {
	return rules.Rule{Name: "amount-drift", Detector: rules.DetectorDrift, Method: method, Metric: "feature.amount",
		GroupBy: []string{"model"}, Window: 10 * time.Second,
		Reference: &rules.Reference{Window: 20 * time.Second, Lag: 10 * time.Second}}
}

// driftBatches is 6 windows of 1000 values spread evenly over 0..99 (each
// window alike), then 2 windows shifted by `shift`.
func driftBatches(shift float64) [][]events.Point {
	var bs [][]events.Point
	for w := range 8 {
		add := 0.0
		if w >= 6 {
			add = shift
		}
		bs = append(bs, evenly("feature.amount", "v1", w*10_000, 10_000, 1000, func(i int) float64 { return float64(i%100) + add }))
	}
	return append(bs, evenly("feature.amount", "v1", 81_500, 100, 1, constant(1)))
}

func TestDriftTrailingReference(t *testing.T) {
	for _, method := range []string{rules.MethodPSI, rules.MethodKS} {
		t.Run(method, func(t *testing.T) {
			if ds := detections(t, newEngine(t, driftRule(method)), driftBatches(0)...); len(ds) != 0 {
				t.Fatalf("a stationary feature drifted: %+v", ds)
			}
			d := onlyOne(t, detections(t, newEngine(t, driftRule(method)), driftBatches(50)...))
			// Windows 6 and 7 are shifted; window 6 fires, judged against
			// windows 3 and 4 (lag: window 5).
			if d.StartedUnixNano != t0+ms(60_000) || d.BaselineSeconds != 20 || d.WindowSeconds != 10 {
				t.Errorf("evidence: %+v", d)
			}
			if d.Reference != "trailing window 20s, lag 10s" {
				t.Errorf("reference %q", d.Reference)
			}
			switch method {
			case rules.MethodPSI:
				if *d.Statistic < mlstats.PSICritical || d.Severity != "critical" {
					t.Errorf("a shift by half the range: psi %v severity %s", *d.Statistic, d.Severity)
				}
			case rules.MethodKS:
				// D is about 0.5: half of each sample lies beyond the other.
				if d.PValue == nil || *d.PValue > 1e-6 || math.Abs(*d.Statistic-0.5) > 0.15 {
					t.Errorf("ks evidence: D %v p %v", *d.Statistic, d.PValue)
				}
			}
		})
	}
}

func TestDriftThinWindowNeverFires(t *testing.T) {
	var bs [][]events.Point
	for w := range 8 {
		add := 0.0
		if w >= 6 {
			add = 50
		}
		// 150 points a window, under the default min_points (200).
		bs = append(bs, evenly("feature.amount", "v1", w*10_000, 10_000, 150, func(i int) float64 { return float64(i%100) + add }))
	}
	bs = append(bs, evenly("feature.amount", "v1", 81_500, 100, 1, constant(1)))
	if ds := detections(t, newEngine(t, driftRule(rules.MethodPSI)), bs...); len(ds) != 0 {
		t.Fatalf("thin windows fired: %+v", ds)
	}
}

func TestDriftCategorical(t *testing.T) {
	r := driftRule("")
	r.FeatureType = rules.FeatureCategorical
	var bs [][]events.Point
	for w := range 8 {
		// Codes 0..3 evenly; from window 6, half of the 0s become 3s.
		bs = append(bs, evenly("feature.country", "v1", w*10_000, 10_000, 1000, func(i int) float64 {
			if w >= 6 && i%8 == 0 {
				return 3
			}
			return float64(i % 4)
		}))
	}
	bs = append(bs, evenly("feature.country", "v1", 81_500, 100, 1, constant(1)))
	r.Metric = "feature.country"
	// Shares 0.25 each → 0.125, 0.25, 0.25, 0.375:
	// PSI = −0.125·ln(0.5) + 0.125·ln(1.5) = 0.1373.
	d := onlyOne(t, detections(t, newEngine(t, r), bs...))
	near(t, "psi", *d.Statistic, 0.125*math.Ln2+0.125*math.Log(1.5), 1e-9)
}

func canaryRule(method string) rules.Rule {
	return rules.Rule{Name: "canary", Detector: rules.DetectorCanary, Method: method, Metric: "inference.latency_ms",
		Op: ">", GroupBy: []string{"model"}, Window: 10 * time.Second, Severity: "critical"}
}

func TestCanaryMannWhitney(t *testing.T) {
	tests := []struct {
		name      string
		candidate func(int) float64
		n         int
		wantFired bool
	}{
		{name: "slower candidate", candidate: func(i int) float64 { return float64(100 + i%50) }, n: 100, wantFired: true},
		{name: "same latency", candidate: func(i int) float64 { return float64(i % 50) }, n: 100},
		{name: "faster candidate, op >", candidate: func(i int) float64 { return float64(i%50) - 100 }, n: 100},
		{name: "too few candidate requests", candidate: func(i int) float64 { return float64(100 + i%50) }, n: 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, canaryRule(""))
			ds := detections(t, e,
				evenly("inference.latency_ms", "v1", 0, 10_000, 300, func(i int) float64 { return float64(i % 50) }),
				evenly("inference.latency_ms", "v2", 0, 10_000, tc.n, tc.candidate),
				evenly("inference.latency_ms", "v1", 11_500, 100, 1, constant(1)))
			if !tc.wantFired {
				if len(ds) != 0 {
					t.Fatalf("want nothing, got %+v", ds)
				}
				return
			}
			d := onlyOne(t, ds)
			if d.ModelVersion != "v2" || d.Labels["candidate_version"] != "v2" || d.Labels["baseline_version"] != "v1" ||
				d.PValue == nil || *d.PValue > 1e-10 {
				t.Errorf("evidence: %+v", d)
			}
			near(t, "candidate mean", d.Value, 124.5, 1e-9)
			near(t, "baseline mean", *d.Expected, 24.5, 1e-9)
		})
	}
}

func TestCanaryProportion(t *testing.T) {
	r := canaryRule(rules.MethodProportion)
	r.Metric = "inference.error"
	e := newEngine(t, r)
	// Baseline v1: 20 errors in 1000; candidate v2: 50 in 500.
	// Pooled 70/1500; z = (0.1 − 0.02) / √(p̂(1−p̂)(1/500 + 1/1000)) = 6.9247.
	d := onlyOne(t, detections(t, e,
		evenly("inference.error", "v1", 0, 10_000, 1000, func(i int) float64 { return b2f(i%50 == 0) }),
		evenly("inference.error", "v2", 0, 10_000, 500, func(i int) float64 { return b2f(i%10 == 0) }),
		evenly("inference.error", "v1", 11_500, 100, 1, constant(0))))
	near(t, "z", *d.Statistic, 6.924741724573412, 1e-9)
	near(t, "candidate share", d.Value, 0.1, 1e-12)
	near(t, "baseline share", *d.Expected, 0.02, 1e-12)
	if d.ModelVersion != "v2" {
		t.Errorf("version %q", d.ModelVersion)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// TestMLBadInput: non-finite, late and repeated points are counted and
// never fire.
func TestMLBadInput(t *testing.T) {
	e := newEngine(t, missingRule())
	good := evenly("feature.amount", "v1", 0, 10_000, 100, constant(1))
	var rej Rejected
	rej = rej.Add(e.Observe(good, 0, noLimit))
	// Each missing point sent 3 times: the repeats are duplicates.
	missing := evenly("feature.amount.missing", "v1", 0, 10_000, 5, constant(1))
	for _, p := range missing {
		rej = rej.Add(e.Observe([]events.Point{p, p, p}, 0, noLimit))
	}
	// NaN and ±Inf values of both metrics.
	bad := []events.Point{good[0], good[1], missing[0]}
	bad[0].Value, bad[1].Value, bad[2].Value = math.NaN(), math.Inf(1), math.Inf(-1)
	rej = rej.Add(e.Observe(bad, 0, noLimit))
	// Judge [0s, 10s): 5 of 105 missing, under 0.1.
	rej = rej.Add(e.Observe(evenly("feature.amount", "v1", 11_500, 100, 1, constant(1)), 0, noLimit))
	out := e.Evaluate(wallClock)
	// Then 100 missing points for the judged window: late.
	rej = rej.Add(e.Observe(evenly("feature.amount.missing", "v1", 0, 10_000, 100, constant(1)), 0, noLimit))
	out = append(out, e.Evaluate(wallClock)...)
	out = append(out, run(e, evenly("feature.amount", "v1", 12_000, 20_000, 200, constant(1)))...)
	if len(out) != 0 {
		t.Fatalf("bad input fired: %v", describe(out))
	}
	if want := (Rejected{NotFinite: 3, Duplicate: 10, Late: 100}); rej != want {
		t.Fatalf("rejected %+v, want %+v", rej, want)
	}
}

// A canary anomaly restored into a new engine is held by its rule (its
// version labels notwithstanding), and resolves under its id once the
// versions agree again.
func TestCanaryRestoreAndResolve(t *testing.T) {
	v1 := func(from int) []events.Point {
		return evenly("inference.latency_ms", "v1", from, 10_000, 300, func(i int) float64 { return float64(i % 50) })
	}
	slow := evenly("inference.latency_ms", "v2", 0, 10_000, 100, func(i int) float64 { return float64(100 + i%50) })
	d := onlyOne(t, detections(t, newEngine(t, canaryRule("")), v1(0), slow,
		evenly("inference.latency_ms", "v1", 11_500, 100, 1, constant(1))))

	e := newEngine(t, canaryRule(""))
	if out := e.Restore([]events.AnomalyDetected{d}, wallClock); len(out) != 0 {
		t.Fatalf("restore emitted %v", describe(out))
	}
	healthy := evenly("inference.latency_ms", "v2", 10_000, 10_000, 100, func(i int) float64 { return float64(i % 50) })
	out := run(e, cat(v1(10_000), healthy), evenly("inference.latency_ms", "v1", 21_500, 100, 1, constant(1)))
	if len(out) != 1 {
		t.Fatalf("want one resolution, got %v", describe(out))
	}
	r, ok := out[0].Data.(events.AnomalyResolved)
	if !ok || r.AnomalyID != d.AnomalyID {
		t.Fatalf("got %+v, want anomaly %s resolved", out[0].Data, d.AnomalyID)
	}
}

// A threshold rule's point older than a window before the series' last
// evaluation can no longer count: it is counted late.
func TestThresholdLatePointCounted(t *testing.T) {
	e := newEngine(t, errorRule())
	run(e, pts("prediction.error", "model-server", "fraud", 0, 2000, 20, 0))
	late := pts("prediction.error", "model-server", "fraud", 500, 520, 20, 1)
	if got := e.Observe(late, 0, noLimit); got != (Rejected{Late: 1}) {
		t.Fatalf("rejected %+v, want one late point", got)
	}
}

// A categorical profile's categories are matched by their number; one it
// names by other text joins "other".
func TestDriftCategoricalProfile(t *testing.T) {
	var ref []string
	for i := range 400 {
		ref = append(ref, []string{"0", "1", "2", "unknown"}[i%4])
	}
	profile := categoricalProfile(t, "country", ref)
	r := rules.Rule{Name: "country-drift", Detector: rules.DetectorDrift, FeatureType: rules.FeatureCategorical,
		Metric: "feature.country", Window: 10 * time.Second, Reference: &rules.Reference{Profile: profile}}
	// Codes 0, 1 and 2 at 0.25 each, and 0.25 of codes 7 and 9 in "other"
	// (where "unknown" went): no drift at all.
	same := func(i int) float64 { return []float64{0, 1, 2, 7, 0, 1, 2, 9}[i%8] }
	// Then code 0 at 0.5, 1 and 2 at 0.25, none other:
	// PSI = 0.25·ln(2) + (0 + ε − 0.25)·ln(ε / 0.25), ε = 0.0001.
	skewed := func(i int) float64 { return []float64{0, 1, 0, 2}[i%4] }
	e := newEngine(t, r)
	d := onlyOne(t, detections(t, e, evenly("feature.country", "v1", 0, 10_000, 400, same),
		evenly("feature.country", "v1", 10_000, 10_000, 400, skewed),
		evenly("feature.country", "v1", 21_500, 100, 1, constant(0))))
	eps := mlstats.PSIEpsilon
	near(t, "psi", *d.Statistic, 0.25*math.Ln2+(eps-0.25)*math.Log(eps/0.25), 1e-3)
	if d.StartedUnixNano != t0+ms(10_000) || d.Severity != "critical" {
		t.Errorf("evidence: %+v", d)
	}
}

// With baseline_version set, that version is the baseline even when the
// canary has more traffic.
func TestCanaryBaselineVersion(t *testing.T) {
	r := canaryRule("")
	r.BaselineVersion = "v1"
	d := onlyOne(t, detections(t, newEngine(t, r),
		evenly("inference.latency_ms", "v1", 0, 10_000, 100, func(i int) float64 { return float64(i % 50) }),
		evenly("inference.latency_ms", "v2", 0, 10_000, 300, func(i int) float64 { return float64(100 + i%50) }),
		evenly("inference.latency_ms", "v1", 11_500, 100, 1, constant(1))))
	if d.ModelVersion != "v2" || d.Labels["baseline_version"] != "v1" {
		t.Errorf("evidence: %+v", d)
	}
}
