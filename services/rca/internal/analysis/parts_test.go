package analysis

import (
	"math"
	"testing"
)

// The parts of every cause multiply to its score, so they are the whole
// story of it.
func TestScorePartsMultiplyToTheScore(t *testing.T) {
	in := badVersion()
	in.BaselineSufficient = true
	res := Analyze(in)
	if len(res.Causes) < 3 {
		t.Fatalf("causes = %+v, want the version, the service and the deploy", res.Causes)
	}
	for _, c := range res.Causes {
		product := 1.0
		for _, v := range ScoreParts(c) {
			product *= v
		}
		if math.Abs(product-c.Score) > 1e-9*math.Max(1, c.Score) {
			t.Errorf("%s: parts %v multiply to %v, score %v", c.ID, ScoreParts(c), product, c.Score)
		}
	}
}
