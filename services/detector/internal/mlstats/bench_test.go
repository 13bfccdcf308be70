package mlstats

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

func benchSizes() []int { return []int{1000, 10000} }

func BenchmarkNumericPSI(b *testing.B) {
	for _, n := range benchSizes() {
		rng := rand.New(rand.NewPCG(1, 1))
		ref, cur := normalSample(rng, n, 0), normalSample(rng, n, 0.2)
		b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := NumericPSI(ref, cur); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkProfilePSI is the detector's steady state: the reference is
// profiled once, each window only bins the current values.
func BenchmarkProfilePSI(b *testing.B) {
	for _, n := range benchSizes() {
		rng := rand.New(rand.NewPCG(1, 1))
		p, err := NewNumericProfile("x", normalSample(rng, n, 0), ProfileOptions{})
		if err != nil {
			b.Fatal(err)
		}
		cur := normalSample(rng, n, 0.2)
		b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Numeric.PSI(cur); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCategoricalPSI(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	cats := make([]string, 50)
	for i := range cats {
		cats[i] = "c" + strconv.Itoa(i)
	}
	ref, cur := make([]string, 10000), make([]string, 10000)
	for i := range ref {
		ref[i], cur[i] = cats[rng.IntN(50)], cats[rng.IntN(50)]
	}
	p, err := NewCategoricalProfile("x", ref, ProfileOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Categorical.PSI(cur); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKSTest covers both p-value methods: n=m=500 is the largest exact
// case, 1k and 10k are asymptotic.
func BenchmarkKSTest(b *testing.B) {
	for _, n := range []int{500, 1000, 10000} {
		rng := rand.New(rand.NewPCG(1, 1))
		ref, cur := normalSample(rng, n, 0), normalSample(rng, n, 0.1)
		b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := KSTest(ref, cur); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMannWhitneyU(b *testing.B) {
	for _, n := range benchSizes() {
		rng := rand.New(rand.NewPCG(1, 1))
		cand, base := normalSample(rng, n, 0.1), normalSample(rng, n, 0)
		b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				MannWhitneyU(cand, base, CandidateGreater, 0)
			}
		})
	}
}

// BenchmarkSummaryAdd reports the cost of one insert into a warm series and
// the heap a filled series holds (B/series).
func BenchmarkSummaryAdd(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	values := make([]float64, 4096)
	for i := range values {
		values[i] = latencyValues(rng)
	}
	s, err := NewSummary(SummaryOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for _, v := range values {
		s.Add(v)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s.Add(values[i&4095])
		i++
	}
	b.StopTimer()
	b.ReportMetric(summaryBytes(b, latencyValues), "B/series")
}
