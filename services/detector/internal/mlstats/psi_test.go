package mlstats

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func TestPSIByHand(t *testing.T) {
	// Expected values: Σ (c−r)·ln(c/r) with zero shares replaced by 0.0001,
	// evaluated by hand with a calculator (python3 math.log).
	tests := []struct {
		name     string
		ref, cur []float64
		want     float64
	}{
		{"identical", []float64{0.3, 0.7}, []float64{0.3, 0.7}, 0},
		{"two bins", []float64{0.5, 0.5}, []float64{0.25, 0.75}, 0.2746530722},
		{"empty reference bin", []float64{0.5, 0.5, 0}, []float64{0.5, 0.25, 0.25}, 2.1285158933},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PSI(tt.ref, tt.cur); math.Abs(got-tt.want) > 1e-9 {
				t.Fatalf("PSI = %.10f, want %.10f", got, tt.want)
			}
		})
	}
}

func TestNumericPSIQuantileBins(t *testing.T) {
	ref := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	// Reference deciles of 1..10 cut at 1..9, so each of the 10 bins holds
	// 0.1; the current window fills the lower five bins with 0.2 each.
	// PSI = 5·(0.1·ln 2) + 5·((0.0001−0.1)·ln(0.0001/0.1)) = 3.7969973521.
	cur := []float64{1, 1, 2, 2, 3, 3, 4, 4, 5, 5, math.NaN()}
	res, err := NumericPSI(ref, cur)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(res.PSI-3.7969973521) > 1e-9 {
		t.Fatalf("PSI = %.10f, want 3.7969973521", res.PSI)
	}
	if len(res.Bins) != 10 || res.Skipped != 1 {
		t.Fatalf("bins = %d, skipped = %d; want 10 and 1", len(res.Bins), res.Skipped)
	}
	for i, b := range res.Bins {
		wantCur := 0.0
		if i < 5 {
			wantCur = 0.2
		}
		if math.Abs(b.Reference-0.1) > 1e-12 || math.Abs(b.Current-wantCur) > 1e-12 {
			t.Errorf("bin %d %s = %v/%v, want 0.1/%v", i, b.Label, b.Reference, b.Current, wantCur)
		}
	}
	if res.Bins[0].Label != "(-inf, 1]" || res.Bins[9].Label != "(9, +inf]" {
		t.Errorf("labels %q … %q", res.Bins[0].Label, res.Bins[9].Label)
	}
	if res.Severity() != SeverityCritical {
		t.Errorf("severity %v, want critical", res.Severity())
	}
}

func TestNumericPSIFewDistinctValuesMergesBins(t *testing.T) {
	// 90% zeros: every decile up to the 9th is 0, so the cut points merge
	// into one and the reference has two bins, 0.9 and 0.1.
	ref := make([]float64, 100)
	for i := 90; i < 100; i++ {
		ref[i] = 1
	}
	res, err := NumericPSI(ref, ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Bins) != 2 || res.PSI != 0 {
		t.Fatalf("bins %+v, PSI %v; want 2 bins and 0", res.Bins, res.PSI)
	}
}

func TestCategoricalPSI(t *testing.T) {
	// a and b fall from 0.5 to 0.25 each, and c is unseen (0 → 0.0001):
	// 2·(−0.25·ln 0.5) + (0.5−0.0001)·ln(0.5/0.0001) = 4.6043184667.
	res, err := CategoricalPSI([]string{"a", "a", "b", "b"}, []string{"a", "b", "c", "c"})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(res.PSI-4.6043184667) > 1e-9 {
		t.Fatalf("PSI = %.10f, want 4.6043184667", res.PSI)
	}
	last := res.Bins[len(res.Bins)-1]
	if len(res.Bins) != 3 || last.Label != "c" || !last.Unseen || last.Current != 0.5 {
		t.Fatalf("bins %+v; want a, b and unseen c at 0.5", res.Bins)
	}
}

func TestCategoricalPSITruncatedProfileUsesOther(t *testing.T) {
	p, err := NewCategoricalProfile("f", []string{"a", "a", "a", "b", "c"}, ProfileOptions{TopK: 1})
	if err != nil {
		t.Fatal(err)
	}
	if p.Categorical.Other != 0.4 {
		t.Fatalf("other = %v, want 0.4", p.Categorical.Other)
	}
	// d may be a rare reference category, so it joins "other":
	// (−0.1)·ln(0.5/0.6) + 0.1·ln(0.5/0.4) = 0.0405465108.
	res, err := p.Categorical.PSI([]string{"a", "d"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Bins) != 2 || res.Bins[1].Label != "other" || res.Bins[1].Unseen {
		t.Fatalf("bins %+v; want a and other", res.Bins)
	}
	if math.Abs(res.PSI-0.0405465108) > 1e-9 {
		t.Fatalf("PSI = %.10f, want 0.0405465108", res.PSI)
	}
}

func TestPSIEmptyWindows(t *testing.T) {
	if _, err := NumericPSI(nil, []float64{1}); !errors.Is(err, ErrNoData) {
		t.Errorf("empty reference: err = %v", err)
	}
	if _, err := NumericPSI([]float64{1}, []float64{math.NaN()}); !errors.Is(err, ErrNoData) {
		t.Errorf("all-NaN current: err = %v", err)
	}
	if _, err := CategoricalPSI([]string{"a"}, nil); !errors.Is(err, ErrNoData) {
		t.Errorf("empty categorical current: err = %v", err)
	}
}

func TestClassifyPSI(t *testing.T) {
	for _, tt := range []struct {
		psi  float64
		want Severity
	}{{0, SeverityNone}, {0.0999, SeverityNone}, {0.1, SeverityWarning}, {0.2499, SeverityWarning}, {0.25, SeverityCritical}} {
		if got := ClassifyPSI(tt.psi); got != tt.want {
			t.Errorf("ClassifyPSI(%v) = %v, want %v", tt.psi, got, tt.want)
		}
	}
}

func normalSample(rng *rand.Rand, n int, mean float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = mean + rng.NormFloat64()
	}
	return out
}

func TestPSIPropertySameDistributionNearZero(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for trial := range 20 {
		ref, cur := normalSample(rng, 5000, 0), normalSample(rng, 5000, 0)
		res, err := NumericPSI(ref, cur)
		if err != nil {
			t.Fatal(err)
		}
		// Sampling noise alone gives PSI ≈ (bins−1)·(1/n+1/m) ≈ 0.004.
		if res.PSI > 0.02 {
			t.Fatalf("trial %d: PSI of two N(0,1) samples = %v", trial, res.PSI)
		}
	}
}

func TestPSIPropertyShiftIsCritical(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	res, err := NumericPSI(normalSample(rng, 5000, 0), normalSample(rng, 5000, 1))
	if err != nil {
		t.Fatal(err)
	}
	if res.Severity() != SeverityCritical {
		t.Fatalf("PSI of a one-sigma shift = %v, want ≥ %v", res.PSI, PSICritical)
	}
}
