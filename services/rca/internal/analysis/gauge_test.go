package analysis

import "testing"

// A baseline recorded apart from the incident sits at another level than
// the window: the gauge that moves with the symptom at the fault's onset
// explains it, the gauge that only sits at another level does not.
func TestMeasureGaugeReadsTheWindowsOwnMovement(t *testing.T) {
	y := Series{1: 10, 2: 11, 3: 10, 100: 8, 101: 8, 102: 12, 103: 13, 104: 12}
	mover := Series{1: 1, 2: 1.1, 3: 1, 100: 0.5, 101: 0.5, 102: 4.5, 103: 5.5, 104: 4.5}
	shifted := Series{1: 1, 2: 1.1, 3: 1, 100: 9, 101: 9.2, 102: 9, 103: 8.9, 104: 9.1}
	f := NewFrame(y, Range{From: 0, To: 50e9}, Range{From: 100e9, To: 105e9})
	m, s := MeasureGauge(mover, y, f), MeasureGauge(shifted, y, f)
	if m.Corr < 0.9 || m.Explained < 0.99 {
		t.Errorf("mover: corr %.2f, explained %.2f; want both near 1", m.Corr, m.Explained)
	}
	if score := signalScore(s, 1, 1); score > 0.1 {
		t.Errorf("shifted: corr %.2f, explained %.2f, score %.2f; want a score near 0", s.Corr, s.Explained, score)
	}
}

// A missing point of a gauge is unknown, not 0: a service that did not
// report in some buckets is measured over the others.
func TestGaugeSkipsMissingBuckets(t *testing.T) {
	in := Input{Y: Series{1: 1, 2: 1, 3: 1, 10: 1, 11: 5, 12: 5}, Baseline: Range{From: 0, To: 5e9}, Window: Range{From: 10e9, To: 13e9}, BaselineSufficient: true}
	// Reported in half the buckets: read as 0 elsewhere it would look
	// like it fell and rose with the symptom.
	sparse := Series{1: 2, 10: 2, 12: 2}
	in.Candidates = []Candidate{{Kind: "service", ID: "service:flat", Service: "flat", Specificity: 1,
		Signals: []Signal{{Name: "same_metric", X: sparse, Weight: WeightService, Gauge: true}}}}
	if res := Analyze(in); len(res.Causes) != 0 {
		t.Errorf("causes %+v: want none from a flat gauge", res.Causes)
	}
}

// A callee whose errors reach the symptom a bucket late departs from a
// baseline in which it never varied without tracking the symptom bucket by
// bucket: its departure still ranks it, below a gauge that tracks the
// symptom, and a gauge that departed the other way stays out.
func TestGaugeDepartureRanksAnUncorrelatedFall(t *testing.T) {
	in := Input{Baseline: Range{From: 0, To: 10e9}, Window: Range{From: 100e9, To: 105e9}, BaselineSufficient: true,
		Y: Series{1: 100, 2: 99.8, 3: 100, 4: 100, 5: 99.9, 100: 100, 101: 100, 102: 99.7, 103: 99.7, 104: 97.7}}
	gauge := func(name string, x Series) Candidate {
		return Candidate{Kind: "service", ID: "service:" + name, Service: name, Specificity: 1,
			Signals: []Signal{{Name: "same_metric", X: x, Weight: WeightService, Gauge: true}}}
	}
	in.Candidates = []Candidate{
		gauge("late", Series{1: 100, 2: 100, 3: 100, 4: 100, 5: 100, 100: 100, 101: 100, 102: 98.9, 103: 98.8, 104: 100}),
		gauge("tracks", Series{1: 100, 2: 99.8, 3: 100, 4: 100, 5: 99.9, 100: 100, 101: 99.9, 102: 99.5, 103: 99.6, 104: 97}),
		gauge("rose", Series{1: 90, 2: 90, 3: 90, 4: 90, 5: 90, 100: 90, 101: 90, 102: 91, 103: 92, 104: 96}),
	}
	res := Analyze(in)
	var names []string
	for _, c := range res.Causes {
		names = append(names, c.Service)
	}
	if len(names) != 2 || names[0] != "tracks" || names[1] != "late" {
		t.Fatalf("causes %v; want tracks, then late by its departure, and not rose", names)
	}
	if res.Causes[1].Evidence["departed"] != 1 {
		t.Errorf("late's evidence %v; want departed", res.Causes[1].Evidence)
	}
}

// With one baseline bucket nothing says how much a metric normally moves:
// a slow metric's noise, seconds wide, must not explain a symptom of
// milliseconds better than the small metric that tripled with it.
func TestGaugeWithAShortBaselineComparesRelativeMoves(t *testing.T) {
	y := Series{1: 0.20, 100: 0.25, 101: 0.45, 102: 0.62, 103: 0.60}
	f := NewFrame(y, Range{From: 0, To: 10e9}, Range{From: 100e9, To: 105e9})
	tripled := Series{1: 0.010, 100: 0.012, 101: 0.025, 102: 0.031, 103: 0.030}
	noisy := Series{1: 3.58, 100: 3.50, 101: 3.70, 102: 3.78, 103: 3.75}
	tr, no := MeasureGauge(tripled, y, f.Only(tripled)), MeasureGauge(noisy, y, f.Only(noisy))
	if st, sn := signalScore(tr, 1, 1), signalScore(no, 1, 1); st <= sn || no.Explained > 0.5 {
		t.Errorf("tripled scores %.3f (explained %.2f), noisy %.3f (explained %.2f); want tripled first and noisy's explained small",
			st, tr.Explained, sn, no.Explained)
	}
}

// A gauge that reported once in the window, far off its baseline, is one
// sample: it must not outrank a gauge that moved with the symptom in every
// bucket of the window.
func TestGaugeReportedInPartOfTheWindowWeighsLess(t *testing.T) {
	in := Input{Baseline: Range{From: 0, To: 10e9}, Window: Range{From: 100e9, To: 105e9}, BaselineSufficient: true,
		Y: Series{1: 1, 2: 1.1, 3: 1, 4: 0.9, 5: 1, 100: 1, 101: 1.3, 102: 1.6, 103: 1.9, 104: 2}}
	gauge := func(name string, x Series) Candidate {
		return Candidate{Kind: "service", ID: "service:" + name, Service: name, Specificity: 1,
			Signals: []Signal{{Name: "same_metric", X: x, Weight: WeightService, Gauge: true}}}
	}
	in.Candidates = []Candidate{
		gauge("once", Series{1: 0.05, 2: 0.05, 3: 0.06, 4: 0.05, 5: 0.05, 104: 2}),
		gauge("every", Series{1: 0.5, 2: 0.55, 3: 0.5, 4: 0.45, 5: 0.5, 100: 0.5, 101: 0.65, 102: 0.8, 103: 0.95, 104: 1}),
	}
	res := Analyze(in)
	if len(res.Causes) != 2 || res.Causes[0].Service != "every" {
		t.Fatalf("causes %+v; want every first", res.Causes)
	}
	if got := res.Causes[1].Evidence["window_coverage"]; got != 0.2 {
		t.Errorf("once's window_coverage %v, want 0.2", got)
	}
}
