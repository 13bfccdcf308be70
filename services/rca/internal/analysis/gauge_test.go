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
