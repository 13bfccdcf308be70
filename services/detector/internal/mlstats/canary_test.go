package mlstats

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func TestMannWhitneyUByHand(t *testing.T) {
	// Expected values from the formulas in MannWhitneyU's doc, by hand:
	//  - disjoint: U = (6+…+10) − 15 = 25, μ = 12.5, σ = √(25/12·11),
	//    z = (12.5−0.5)/σ = 2.5067182458, p = Φ̄(z) one-sided, 2Φ̄(z) two-sided.
	//  - ties: ranks 1 | 2,3,4 → 3 | 5,6,7 → 6 | 8; candidate rank sum 13,
	//    U = 13 − 10 = 3, Σ(t³−t) = 48, σ = √(16/12·(9 − 48/56)) = 3.2950178842,
	//    z = (|3−8| − 0.5)/σ = 1.3656982020.
	// Φ̄ from python3 math.erfc(z/√2)/2.
	disjointC := []float64{6, 7, 8, 9, 10}
	disjointB := []float64{1, 2, 3, 4, 5}
	tiesC := []float64{1, 2, 2, 3}
	tiesB := []float64{2, 3, 3, 4}
	tests := []struct {
		name       string
		cand, base []float64
		alt        Alternative
		wantU      float64
		wantZ      float64
		wantP      float64
	}{
		{"disjoint greater", disjointC, disjointB, CandidateGreater, 25, 2.5067182458, 0.006092890178},
		{"disjoint two-sided", disjointC, disjointB, TwoSided, 25, 2.5067182458, 0.01218578036},
		// less: z = (12.5+0.5)/σ = 2.7156114329, p = Φ(z).
		{"disjoint less", disjointC, disjointB, CandidateLess, 25, 2.7156114329, 0.9966923245},
		{"ties two-sided", tiesC, tiesB, TwoSided, 3, -1.3656982020, 0.1720337089},
		{"ties less", tiesC, tiesB, CandidateLess, 3, -4.5 / 3.2950178842, 0.08601685446},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := MannWhitneyU(tt.cand, tt.base, tt.alt, 4)
			if res.Insufficient || res.Statistic != tt.wantU {
				t.Fatalf("U = %v (insufficient %v), want %v", res.Statistic, res.Insufficient, tt.wantU)
			}
			if math.Abs(res.Z-tt.wantZ) > 1e-9 || math.Abs(res.PValue-tt.wantP) > 1e-6 {
				t.Fatalf("z, p = %.10f, %.10g; want %.10f, %.10g", res.Z, res.PValue, tt.wantZ, tt.wantP)
			}
		})
	}
}

func TestMannWhitneyUInsufficientAndDegenerate(t *testing.T) {
	res := MannWhitneyU(make([]float64, 19), make([]float64, 50), TwoSided, 0)
	if !res.Insufficient || res.Candidate != 19 || res.PValue != 0 {
		t.Fatalf("19 values with the default minimum: %+v", res)
	}
	// NaNs do not count toward the minimum.
	withNaN := append(make([]float64, 19), math.NaN())
	if res := MannWhitneyU(withNaN, make([]float64, 50), TwoSided, 20); !res.Insufficient {
		t.Fatalf("19 finite values passed a minimum of 20: %+v", res)
	}
	// All values tied: no variance, no evidence.
	if res := MannWhitneyU(make([]float64, 30), make([]float64, 30), TwoSided, 0); res.PValue != 1 {
		t.Fatalf("all ties: %+v", res)
	}
}

func TestMannWhitneyUProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 21))
	const trials = 200
	falseAlarms := 0
	for range trials {
		res := MannWhitneyU(normalSample(rng, 100, 0), normalSample(rng, 100, 0), CandidateGreater, 0)
		if res.PValue < 0.05 {
			falseAlarms++
		}
	}
	// Expect 5% (10 of 200) under the null; 10% is over 3 sd away.
	if falseAlarms > trials/10 {
		t.Errorf("%d of %d same-distribution pairs looked worse", falseAlarms, trials)
	}
	worse := MannWhitneyU(normalSample(rng, 100, 0.6), normalSample(rng, 100, 0), CandidateGreater, 0)
	if worse.PValue > 0.001 {
		t.Errorf("0.6-sigma worse candidate: p = %v", worse.PValue)
	}
	better := MannWhitneyU(normalSample(rng, 100, -0.6), normalSample(rng, 100, 0), CandidateGreater, 0)
	if better.PValue < 0.5 {
		t.Errorf("better candidate looked worse: p = %v", better.PValue)
	}
}

func TestTwoProportionZByHand(t *testing.T) {
	// 30/100 vs 20/100: pooled 0.25, se = √(0.25·0.75·0.02) = 0.0612372436,
	// z = 0.1/se = 1.6329931619; p from python3 math.erfc as above. These
	// match statsmodels proportions_ztest([30, 20], [100, 100]).
	tests := []struct {
		name  string
		alt   Alternative
		wantZ float64
		wantP float64
	}{
		{"two-sided", TwoSided, 1.6329931619, 0.1024704349},
		{"candidate worse", CandidateGreater, 1.6329931619, 0.05123521743},
		{"candidate better", CandidateLess, 1.6329931619, 1 - 0.05123521743},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := TwoProportionZ(30, 100, 20, 100, tt.alt, 0)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(res.Statistic-0.1) > 1e-12 || math.Abs(res.Z-tt.wantZ) > 1e-9 || math.Abs(res.PValue-tt.wantP) > 1e-9 {
				t.Fatalf("got %+v, want diff 0.1, z %v, p %v", res, tt.wantZ, tt.wantP)
			}
		})
	}
}

func TestTwoProportionZEdges(t *testing.T) {
	if res, err := TwoProportionZ(1, 10, 0, 100, TwoSided, 0); err != nil || !res.Insufficient {
		t.Errorf("10 trials: %+v, %v; want insufficient", res, err)
	}
	if res, _ := TwoProportionZ(0, 100, 0, 100, CandidateGreater, 0); res.PValue != 1 {
		t.Errorf("no errors anywhere: p = %v, want 1", res.PValue)
	}
	for _, c := range [][4]int{{-1, 10, 0, 10}, {11, 10, 0, 10}, {0, 10, 5, 4}} {
		if _, err := TwoProportionZ(c[0], c[1], c[2], c[3], TwoSided, 0); !errors.Is(err, ErrInvalidCounts) {
			t.Errorf("%v: err = %v", c, err)
		}
	}
}
