package analysis

import (
	"testing"

	"github.com/medic-sre/medic/pkg/events"
)

// tied is a symptom that two services explain equally, as the only serving
// model version and the true cause did in issue #5: same series, same kind.
func tied(first, second string) Input {
	in := badVersion()
	in.Changes = nil
	x := step(60, 40, 0.005, 0.35)
	in.Candidates = []Candidate{
		{Kind: events.CauseService, ID: "service:" + first, Service: first, Specificity: 1,
			Signals: []Signal{{Name: "self_errors", X: x, Weight: WeightService}}},
		{Kind: events.CauseService, ID: "service:" + second, Service: second, Specificity: 1,
			Signals: []Signal{{Name: "self_errors", X: x, Weight: WeightService}}},
	}
	in.BaselineSufficient = true
	return in
}

// Equal scores share rank 1 whatever the names, and a tie has no confidence.
func TestTiesShareRank(t *testing.T) {
	for _, names := range [][2]string{{"alpha", "zulu"}, {"zulu", "alpha"}} {
		res := Analyze(tied(names[0], names[1]))
		if len(res.Causes) != 2 {
			t.Fatalf("%v: causes = %+v, want 2", names, res.Causes)
		}
		for _, c := range res.Causes {
			if c.Rank != 1 {
				t.Errorf("%v: %s rank %d, want 1 (a tie)", names, c.ID, c.Rank)
			}
		}
		if !res.Tie || res.Confidence != 0 {
			t.Errorf("%v: tie %v confidence %v, want a tie with confidence 0", names, res.Tie, res.Confidence)
		}
	}
}

// Ranks after a tie skip the places the tie took: 1, 1, 3.
func TestRankAfterTie(t *testing.T) {
	in := tied("alpha", "zulu")
	in.Candidates = append(in.Candidates, Candidate{Kind: events.CauseService, ID: "service:half", Service: "half",
		Specificity: 1, Signals: []Signal{{Name: "self_errors", X: step(60, 40, 0, 0.17), Weight: WeightService}}})
	res := Analyze(in)
	var ranks []int
	for _, c := range res.Causes {
		ranks = append(ranks, c.Rank)
	}
	if len(ranks) != 3 || ranks[0] != 1 || ranks[1] != 1 || ranks[2] != 3 {
		t.Fatalf("ranks = %v, want [1 1 3]", ranks)
	}
}

func TestConfidence(t *testing.T) {
	sufficient := badVersion()
	sufficient.BaselineSufficient = true
	thin := badVersion()
	close := badVersion()
	close.BaselineSufficient = true
	close.Changes = nil
	close.Candidates[2].Signals[0].Weight = 0.95 // model-server nearly as good as v2
	tie := tied("alpha", "zulu")
	none := badVersion()
	none.Y = Series{}
	none.BaselineSufficient = true
	tests := []struct {
		name     string
		in       Input
		min, max float64
	}{
		// v2, its deploy and the service serving it are one explanation;
		// nothing else competes.
		{name: "clear bad version", in: sufficient, min: 0.9, max: 1},
		{name: "same evidence on a thin baseline", in: thin, min: 0, max: ThinBaselineFactor},
		{name: "rival nearly as strong", in: close, min: 0, max: 0.2},
		{name: "tie", in: tie, min: 0, max: 0},
		{name: "no causes", in: none, min: 0, max: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Analyze(tt.in).Confidence
			if got < tt.min || got > tt.max {
				t.Fatalf("confidence = %v, want in [%v, %v]", got, tt.min, tt.max)
			}
		})
	}
}

// With no baseline the summary claims no explanation of an excess: v2
// served 0.35 x 20 of the 0.005 x 40 + 0.35 x 20 the window holds.
func TestSummaryWithoutBaseline(t *testing.T) {
	in := badVersion()
	in.Baseline = Range{0, 0}
	in.Window = Range{0, 60 * BucketNanos}
	got := Analyze(in).Causes[0].Summary
	want := "model fraud@v2 accounts for 97% of prediction.error in the window, with no baseline to compare with; deployed 2s before the symptom"
	if got != want {
		t.Fatalf("summary = %q, want %q", got, want)
	}
}

// The service serving a bad version carries the deploy's change id, as the
// version does: a reader can tell they are one explanation, not rivals.
func TestEveryCauseNamesItsChange(t *testing.T) {
	want := map[string]string{"model_version:fraud@v2": "c-v2", "change:c-v2": "c-v2", "service:model-server": "c-v2"}
	for _, c := range Analyze(badVersion()).Causes {
		if c.ChangeID != want[c.ID] {
			t.Errorf("%s change = %q, want %q", c.ID, c.ChangeID, want[c.ID])
		}
	}
}

// A surging log template and its service are one explanation: the
// service's score, borrowed from the template, does not thin the
// template's margin; another service nearly as strong does.
func TestConfidenceOfATemplateAndItsService(t *testing.T) {
	y := Series{}
	x := Series{}
	for b := int64(0); b < 40; b++ {
		y[b], x[b] = 0.1, 0
		if b >= 20 {
			y[b], x[b] = 5, 4.9
		}
	}
	in := Input{Symptom: "logs", Baseline: Range{From: 0, To: 20 * BucketNanos}, Window: Range{From: 20 * BucketNanos, To: 40 * BucketNanos},
		Y: y, BaselineSufficient: true, Candidates: []Candidate{
			{Kind: events.CauseLogTemplate, ID: "log_template:s:1", Service: "s", Label: "disk <*> full", Specificity: 1,
				Signals: []Signal{{Name: "log_template", X: x, Weight: WeightLogTemplate}}},
			{Kind: events.CauseService, ID: "service:s", Service: "s", Specificity: 1,
				Signals: []Signal{{Name: "log_template", X: x, Weight: WeightService}}},
		}}
	if got := Analyze(in).Confidence; got < 0.9 {
		t.Fatalf("confidence %v with only the template's own service below it, want at least 0.9", got)
	}
	in.Candidates[1].Service, in.Candidates[1].ID = "other", "service:other"
	if got := Analyze(in).Confidence; got > 0.5 {
		t.Fatalf("confidence %v with another service at 0.8 of the template, want at most 0.5", got)
	}
}
