package mlstats

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

func TestSummaryQuantilesWithinAccuracy(t *testing.T) {
	s, err := NewSummary(SummaryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(41, 41))
	values := make([]float64, 20000)
	for i := range values {
		// Latency-like: lognormal around 50 ms.
		values[i] = 0.05 * math.Exp(0.5*rng.NormFloat64())
		s.Add(values[i])
	}
	s.Add(math.NaN())
	s.Add(math.Inf(1))
	slices.Sort(values)
	for _, q := range []float64{0.5, 0.9, 0.95, 0.99} {
		got, err := s.Quantile(q)
		if err != nil {
			t.Fatal(err)
		}
		// DDSketch's guarantee is against the rank-⌊q(n−1)⌋ value.
		want := values[int(q*float64(len(values)-1))]
		if rel := math.Abs(got-want) / want; rel > DefaultRelativeAccuracy {
			t.Errorf("q%v = %v, exact %v: relative error %.4f", q, got, want, rel)
		}
	}
	if s.Count() != 20000 || s.Skipped() != 2 || len(s.Sample()) != DefaultSummarySample {
		t.Fatalf("count %d, skipped %d, sample %d", s.Count(), s.Skipped(), len(s.Sample()))
	}
	s.Reset()
	if _, err := s.Quantile(0.5); err == nil || s.Count() != 0 {
		t.Fatal("reset summary still answers")
	}
}

func TestReservoirIsUniform(t *testing.T) {
	// Offer 0..999 to a 100-slot reservoir 2000 times: each value should be
	// kept about 200 times (binomial sd ≈ 13.4). Over the first and second
	// halves of the stream the kept counts must match within 3%.
	const n, k, rounds = 1000, 100, 2000
	var firstHalf, secondHalf int
	r := NewReservoir(k, 5)
	for range rounds {
		r.Reset()
		for v := range n {
			r.Add(float64(v))
		}
		for _, v := range r.Values() {
			if v < n/2 {
				firstHalf++
			} else {
				secondHalf++
			}
		}
	}
	if firstHalf+secondHalf != k*rounds {
		t.Fatalf("kept %d values, want %d", firstHalf+secondHalf, k*rounds)
	}
	if ratio := float64(firstHalf) / float64(secondHalf); ratio < 0.97 || ratio > 1.03 {
		t.Fatalf("first/second half kept %d/%d", firstHalf, secondHalf)
	}
}

// summaryBytes measures the heap held by series summaries after each saw
// values from gen, divided by the number of series.
func summaryBytes(t testing.TB, gen func(*rand.Rand) float64) float64 {
	const series, points = 2000, 3000
	rng := rand.New(rand.NewPCG(42, 42))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	all := make([]*Summary, series)
	for i := range all {
		s, err := NewSummary(SummaryOptions{Seed: uint64(i + 1)})
		if err != nil {
			t.Fatal(err)
		}
		for range points {
			s.Add(gen(rng))
		}
		all[i] = s
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(all)
	return float64(after.HeapAlloc-before.HeapAlloc) / series
}

var (
	latencyValues = func(rng *rand.Rand) float64 { return 0.05 * math.Exp(0.5*rng.NormFloat64()) }
	// Both signs over 12 decades fill both sketch stores to their bound.
	worstValues = func(rng *rand.Rand) float64 {
		return math.Copysign(math.Pow(10, 12*rng.Float64()-6), rng.Float64()-0.5)
	}
)

func TestSummaryBytesPerSeries(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 2000 series")
	}
	// The budget for a whole active series is 4 KiB.
	for _, tt := range []struct {
		name string
		gen  func(*rand.Rand) float64
	}{{"latency", latencyValues}, {"worst case", worstValues}} {
		b := summaryBytes(t, tt.gen)
		t.Logf("%s: %.0f bytes per series", tt.name, b)
		if b > 4096 {
			t.Errorf("%s: %.0f bytes per series, over 4 KiB", tt.name, b)
		}
	}
}
