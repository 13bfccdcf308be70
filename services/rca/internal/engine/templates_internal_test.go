package engine

import (
	"testing"

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
	got := foldTemplates(rows)
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
