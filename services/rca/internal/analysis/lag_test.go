package analysis

import (
	"testing"

	"github.com/medic-sre/medic/pkg/events"
)

// noisy is step with a deterministic wiggle, so that the baseline has a
// spread to rise above.
func noisy(n, at int64, lo, hi float64) Series {
	s := step(n, at, lo, hi)
	for b := range s {
		s[b] += 0.001 * float64(b%3)
	}
	return s
}

// A cause whose series leads the symptom's by two buckets correlates better
// led by two than aligned, and the lag is reported.
func TestLaggedCorrelationFindsALead(t *testing.T) {
	y := noisy(60, 42, 0.01, 0.4)
	x := noisy(60, 40, 0.01, 0.4)
	f := NewFrame(y, Range{0, 30 * BucketNanos}, Range{30 * BucketNanos, 60 * BucketNanos})
	aligned := Pearson(x, y, f.All())
	c := Measure(x, y, f)
	if c.Lag != 2 || c.Corr <= aligned || c.Corr < 0.99 {
		t.Fatalf("corr %.3f at lag %d (aligned %.3f): want ~1 at lag 2", c.Corr, c.Lag, aligned)
	}
	// A series that trails the symptom gains nothing from a lag.
	late := noisy(60, 44, 0.01, 0.4)
	if c := Measure(late, y, f); c.Lag != 0 {
		t.Errorf("a trailing series was credited a lead of %d", c.Lag)
	}
}

func TestPrecedence(t *testing.T) {
	y := noisy(60, 40, 0.01, 0.4)
	f := NewFrame(y, Range{0, 30 * BucketNanos}, Range{30 * BucketNanos, 60 * BucketNanos})
	tests := []struct {
		name   string
		x      Series
		lead   float64
		factor float64
		ok     bool
	}{
		{"starts with the symptom", noisy(60, 40, 0.01, 0.4), 0, 1, true},
		{"starts before it", noisy(60, 37, 0.01, 0.4), 3, 1, true},
		{"one bucket after is the same moment", noisy(60, 41, 0.01, 0.4), -1, 1, true},
		{"starts five buckets after it", noisy(60, 45, 0.01, 0.4), -5, trailingPenalty, true},
		{"never rises", noisy(60, 60, 0.01, 0.4), 0, 1, false},
	}
	for _, tt := range tests {
		lead, factor, ok := precedence(tt.x, y, f)
		if ok != tt.ok || lead != tt.lead || factor != tt.factor {
			t.Errorf("%s: lead %v factor %v ok %v, want %v %v %v", tt.name, lead, factor, ok, tt.lead, tt.factor, tt.ok)
		}
	}
	// One noisy bucket before the fault is not the symptom's onset.
	spiky := noisy(60, 40, 0.01, 0.4)
	spiky[33] = 0.3
	if lead, factor, _ := precedence(noisy(60, 40, 0.01, 0.4), spiky, f); lead != 0 || factor != 1 {
		t.Errorf("a one-bucket spike at 33 moved the symptom's onset: lead %v, factor %v", lead, factor)
	}
	if _, _, ok := precedence(noisy(60, 40, 0.01, 0.4), y, Frame{Window: f.Window}); ok {
		t.Error("precedence had a say without a baseline")
	}
}

// Of two services whose errors rise as much, the one whose rise began with
// the symptom outranks the one whose rise came five buckets later (its
// consequence), and the score parts say why.
func TestTheConsequenceRanksBelowTheCause(t *testing.T) {
	y := noisy(60, 40, 0.01, 0.4)
	cand := func(id string, at int64) Candidate {
		return Candidate{Kind: events.CauseService, ID: "service:" + id, Service: id, Specificity: 1,
			Signals: []Signal{{Name: "self_errors", X: noisy(60, at, 0.01, 0.4), Weight: WeightService}}}
	}
	in := Input{Symptom: "error", SymptomStart: 40 * BucketNanos, Y: y,
		Baseline: Range{0, 30 * BucketNanos}, Window: Range{30 * BucketNanos, 60 * BucketNanos},
		Candidates: []Candidate{cand("consequence", 45), cand("cause", 40)}}
	res := Analyze(in)
	if len(res.Causes) != 2 || res.Causes[0].ID != "service:cause" {
		t.Fatalf("causes %+v, want the cause first", res.Causes)
	}
	if p := ScoreParts(res.Causes[1])["precedence"]; p != trailingPenalty {
		t.Errorf("the consequence's precedence part = %v, want %v", p, trailingPenalty)
	}
	if ev := res.Causes[1].Evidence; ev["onset_lead_buckets"] != -5 {
		t.Errorf("onset_lead_buckets = %v, want -5", ev["onset_lead_buckets"])
	}
}
