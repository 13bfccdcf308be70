package mlstats

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/stat"
)

func TestKSTestByHand(t *testing.T) {
	// D by hand from the two step functions; exact p-values by counting
	// lattice paths: with D = 1 only the 2 paths that run along the edges
	// reach it, out of C(n+m, n). scipy.stats.ks_2samp([1,2,3],[4,5,6])
	// gives the same statistic=1.0, pvalue=0.1.
	tests := []struct {
		name  string
		x, y  []float64
		wantD float64
		wantP float64
	}{
		{"disjoint 3+3", []float64{1, 2, 3}, []float64{4, 5, 6}, 1, 2.0 / 20},
		{"disjoint 5+5", []float64{5, 4, 3, 2, 1}, []float64{6, 7, 8, 9, 10}, 1, 2.0 / 252},
		// ECDFs at 1,2,3,4: x .25 .5 .75 1, y 0 0 .25 .5 → D = 0.5.
		// D < 1/2 needs |i−j| ≤ 1 at every lattice point, so steps come in
		// pairs of one each way: 2⁴ = 16 of the 70 paths. p = 1 − 16/70.
		{"ties 4+4", []float64{1, 2, 3, 4}, []float64{3, 4, 5, 6}, 0.5, 1 - 16.0/70},
		{"identical", []float64{1, 2, 3}, []float64{1, 2, 3}, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := KSTest(tt.x, tt.y)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(res.D-tt.wantD) > 1e-12 || math.Abs(res.PValue-tt.wantP) > 1e-12 {
				t.Fatalf("D, p = %v, %v; want %v, %v", res.D, res.PValue, tt.wantD, tt.wantP)
			}
			if res.Method != KSExact {
				t.Fatalf("method %q, want exact", res.Method)
			}
		})
	}
}

// TestKSExactMatchesEnumeration checks the path-counting p-value against a
// brute force that needs no lattice argument: every way to split the ranks
// 1..n+m into samples of sizes n and m is equally likely under the null, so
// P(D ≥ d) is the share of splits whose gonum D reaches d.
func TestKSExactMatchesEnumeration(t *testing.T) {
	for _, size := range [][2]int{{3, 3}, {4, 6}, {5, 7}, {6, 6}, {2, 9}} {
		n, m := size[0], size[1]
		ds := allSplitsD(n, m)
		for _, d := range ds {
			reach := 0
			for _, other := range ds {
				if other >= d-1e-12 {
					reach++
				}
			}
			want := float64(reach) / float64(len(ds))
			if got, _ := KSPValue(d, n, m); math.Abs(got-want) > 1e-12 {
				t.Fatalf("n=%d m=%d d=%v: p = %v, enumeration %v", n, m, d, got, want)
			}
		}
	}
}

// allSplitsD returns D for every split of ranks 1..n+m into sizes n and m.
func allSplitsD(n, m int) []float64 {
	var out []float64
	for mask := 0; mask < 1<<(n+m); mask++ {
		var x, y []float64
		for r := 0; r < n+m; r++ {
			if mask&(1<<r) != 0 {
				x = append(x, float64(r))
			} else {
				y = append(y, float64(r))
			}
		}
		if len(x) == n {
			out = append(out, stat.KolmogorovSmirnov(x, nil, y, nil))
		}
	}
	return out
}

func TestKolmogorovSurvivalCriticalValues(t *testing.T) {
	// Asymptotic critical values of the Kolmogorov distribution, as
	// tabulated (Smirnov 1948): Q_KS(λ_α) = α.
	for _, tt := range []struct{ lambda, alpha float64 }{
		{1.22385, 0.10}, {1.35810, 0.05}, {1.62762, 0.01}, {1.94947, 0.001},
	} {
		if got := KolmogorovSurvival(tt.lambda); math.Abs(got-tt.alpha) > 1e-5 {
			t.Errorf("Q_KS(%v) = %v, want %v", tt.lambda, got, tt.alpha)
		}
	}
	if KolmogorovSurvival(0.01) != 1 || KolmogorovSurvival(10) > 1e-80 {
		t.Errorf("tails: Q(0.01) = %v, Q(10) = %v", KolmogorovSurvival(0.01), KolmogorovSurvival(10))
	}
}

func TestKSAsymptoticAgreesWithExact(t *testing.T) {
	// At n = m = 1000 KSPValue is asymptotic; the exact count still runs.
	// The lattice makes the exact distribution a step function, so the
	// asymptotic one stays up to about 0.01 off at large p and closer in the
	// tail that decides drift.
	const n = 1000
	for k := 20; k <= 90; k += 5 {
		d := float64(k) / n
		asym, method := KSPValue(d, n, n)
		if method != KSAsymptotic {
			t.Fatalf("%d×%d used %q", n, n, method)
		}
		exact := ksExactPValue(d, n, n)
		tol := 0.01
		if exact < 0.1 {
			tol = 0.005
		}
		if math.Abs(exact-asym) > tol {
			t.Errorf("d=%v: exact %v, asymptotic %v", d, exact, asym)
		}
	}
}

func TestKSPropertySameDistribution(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	for _, n := range []int{200, 2000} {
		const trials = 200
		pass := 0
		for range trials {
			res, err := KSTest(normalSample(rng, n, 0), normalSample(rng, n, 0))
			if err != nil {
				t.Fatal(err)
			}
			if !res.Drifted() {
				pass++
			}
		}
		// Under the null p is uniform: about 95% of trials pass. The binomial
		// sd over 200 trials is 1.5 points, so 90% is more than 3 sd away.
		if frac := float64(pass) / trials; frac < 0.90 {
			t.Errorf("n=%d: %v of same-distribution pairs kept p ≥ 0.05", n, frac)
		}
	}
}

func TestKSPropertyShiftedMean(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 12))
	for _, n := range []int{200, 2000} {
		res, err := KSTest(normalSample(rng, n, 0), normalSample(rng, n, 0.5))
		if err != nil {
			t.Fatal(err)
		}
		if res.PValue > 1e-4 {
			t.Errorf("n=%d half-sigma shift: p = %v (%s)", n, res.PValue, res.Method)
		}
	}
}

func TestKSSkipsNonFinite(t *testing.T) {
	res, err := KSTest([]float64{1, 2, math.NaN(), 3}, []float64{math.Inf(1), 4, 5, 6})
	if err != nil {
		t.Fatal(err)
	}
	if res.N != 3 || res.M != 3 || res.D != 1 {
		t.Fatalf("got %+v, want n=m=3, D=1", res)
	}
	if _, err := KSTest([]float64{math.NaN()}, []float64{1}); err == nil {
		t.Fatal("no error for an all-NaN sample")
	}
}
