package engine

import (
	"testing"

	"github.com/medic-sre/medic/services/rca/internal/analysis"
	"github.com/medic-sre/medic/services/rca/internal/query"
)

// A template that Drain generalised in the window (or that another replica
// mined more generally) is the same template as its specific text of the
// baseline: it is folded into it, so it does not look new.
func TestFoldTemplatesJoinsGeneralisedText(t *testing.T) {
	rows := []query.TemplateBucket{
		{Service: "s", TemplateID: 1, Template: "cache miss for key alpha", Bucket: 10, PerSecond: 2},
		{Service: "s", TemplateID: 2, Template: "cache miss for key <*>", Bucket: 20, PerSecond: 3},
		{Service: "s", TemplateID: 3, Template: "cache hit for key alpha", Bucket: 20, PerSecond: 1},
		{Service: "other", TemplateID: 1, Template: "cache miss for key alpha", Bucket: 20, PerSecond: 5},
	}
	got := foldTemplates(rows, 0)
	if len(got) != 3 {
		t.Fatalf("%d templates, want 3: %+v", len(got), got)
	}
	for _, tm := range got {
		switch {
		case tm.service == "s" && tm.text == "cache miss for key <*>":
			if tm.perSecond[10] != 2 || tm.perSecond[20] != 3 || tm.folded != 1 {
				t.Fatalf("general template %+v, want alpha's lines folded in", tm)
			}
		case tm.service == "s" && tm.text == "cache hit for key alpha", tm.service == "other":
			if tm.folded != 0 {
				t.Fatalf("template %+v folded something", tm)
			}
		default:
			t.Fatalf("unexpected template %+v", tm)
		}
	}
}

// A 10 s count that began before the baseline's end and reaches into the
// window is spread over seconds of both; its seconds in the baseline say
// nothing of whether the template was there, and are left out of the
// baseline's mean, which is over the seconds that are sure.
func TestBaselineMeanLeavesOutCountsThatReachIntoTheWindow(t *testing.T) {
	const sec = int64(1e9)
	baseline := analysis.Range{From: 100 * sec, To: 120 * sec}
	var rows []query.TemplateBucket
	for b := int64(115); b < 125; b++ { // a fault's lines, counted in [115, 125)
		rows = append(rows, query.TemplateBucket{Service: "s", TemplateID: 1, Template: "t", Bucket: b, PerSecond: 2, BucketEnd: 125})
	}
	got := foldTemplates(rows, baseline.To)
	if len(got) != 1 {
		t.Fatalf("%d templates, want 1", len(got))
	}
	if m := got[0].baselineMean(baseline); m != 0 {
		t.Fatalf("baseline mean %v, want 0: the count reaches into the window", m)
	}
	// The same template also in a bucket wholly of the baseline: its mean
	// is over the 15 sure seconds.
	for b := int64(100); b < 110; b++ {
		rows = append(rows, query.TemplateBucket{Service: "s", TemplateID: 1, Template: "t", Bucket: b, PerSecond: 3, BucketEnd: 110})
	}
	got = foldTemplates(rows, baseline.To)
	if m := got[0].baselineMean(baseline); m != 2 {
		t.Fatalf("baseline mean %v, want 30 lines over 15 s = 2", m)
	}
}
