package engine

import (
	"slices"
	"strings"
	"testing"
)

// At the series limit a point that would start a new series is refused and
// counted, while the series already held keep taking points and firing.
func TestSeriesLimit(t *testing.T) {
	e := newEngine(t, errorRule())
	e.LimitSeries(2)
	for _, model := range []string{"a", "b"} {
		if rej := e.Observe(pts(errMetric, "s", model, 0, 1000, 20, 0), 0, noLimit); rej.Total() != 0 {
			t.Fatalf("model %s: rejected %+v under the limit", model, rej)
		}
	}
	third := pts(errMetric, "s", "c", 0, 1000, 20, 0)
	if rej := e.Observe(third, 0, noLimit); rej.OverLimit != len(third) || rej.Total() != len(third) {
		t.Fatalf("third series: rejected %+v, want all %d points over the limit", rej, len(third))
	}
	if got := e.OverLimitRules(); !slices.Equal(got, []string{errorRule().Name}) {
		t.Errorf("OverLimitRules = %v, want the rule", got)
	}
	if got := e.OverLimitRules(); len(got) != 0 {
		t.Errorf("OverLimitRules did not forget: %v", got)
	}
	if n := e.Series(); n != 2 {
		t.Errorf("%d series held, want 2", n)
	}
	// A held series still takes its points and fires.
	if rej := e.Observe(pts(errMetric, "s", "a", 1000, 4000, 20, 1), 0, noLimit); rej.Total() != 0 {
		t.Fatalf("held series refused: %+v", rej)
	}
	fired := false
	for _, d := range describe(e.Evaluate(wallClock)) {
		fired = fired || strings.HasPrefix(d, "detected")
	}
	if !fired {
		t.Error("the held series did not fire at the limit")
	}
	// No limit: the third series is taken.
	e.LimitSeries(0)
	if rej := e.Observe(third, 0, noLimit); rej.Total() != 0 {
		t.Errorf("without a limit: rejected %+v", rej)
	}
}
