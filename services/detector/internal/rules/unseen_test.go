package rules

import (
	"strings"
	"testing"
)

func TestUnseenCategoryRules(t *testing.T) {
	f, err := Load("testdata/unseen.yaml")
	if err != nil {
		t.Fatalf("valid rules do not load: %v", err)
	}
	if r := f.Rules[0]; r.MLLimit() != DefaultUnseenShare || r.MLMinPoints() != DefaultDriftMinPoints || r.MLOp() != ">" {
		t.Errorf("defaults: threshold %v, min_points %v, op %v", r.MLLimit(), r.MLMinPoints(), r.MLOp())
	}
	_, err = Load("testdata/bad_unseen.yaml")
	if err == nil {
		t.Fatal("bad rules loaded")
	}
	for _, want := range []string{
		"bad_unseen.yaml:2: field rules[0].reference: is missing",
		"bad_unseen.yaml:12: field rules[1].threshold: is a share of records for detector unseen_category: must be below 1",
		"bad_unseen.yaml:13: field rules[1].op: \"<\": detector unseen_category fires on a share above the threshold",
		"bad_unseen.yaml:14: field rules[1].feature_type: needs detector: drift (got unseen_category)",
		"bad_unseen.yaml:20: field rules[2].reference.profile: profile testdata/topk_profile.json lists its top 2 categories only (other: 0.1)",
		"bad_unseen.yaml:26: field rules[3].reference.profile: profile testdata/numeric_profile.json is numeric: detector unseen_category needs a categorical profile",
		"bad_unseen.yaml:27: field rules[3].method: needs detector: drift or canary (got unseen_category)",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not contain %q:\n%v", want, err)
		}
	}
}
