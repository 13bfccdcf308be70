package mlstats

import (
	"errors"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// DefaultMinSamples is the smallest group for which the canary tests answer.
// Below about 20 per group the normal approximation of the U statistic is
// poor (scipy switches Mann–Whitney to its exact method for n ≤ 8), and a
// canary verdict on fewer requests is noise anyway.
const DefaultMinSamples = 20

// Alternative is the hypothesis a canary test looks for, always stated about
// the candidate version relative to the baseline.
type Alternative int

// Alternatives. For a metric where higher is worse (latency, error rate),
// "candidate worse" is CandidateGreater.
const (
	TwoSided Alternative = iota
	CandidateGreater
	CandidateLess
)

// TestResult is the outcome of a canary test.
type TestResult struct {
	// Insufficient is set when a group is below the minimum sample size;
	// the other fields but the counts are then zero.
	Insufficient bool `json:"insufficient,omitempty"`
	// Statistic is U of the candidate for Mann–Whitney, or the candidate's
	// proportion minus the baseline's for the proportion test.
	Statistic float64 `json:"statistic"`
	Z         float64 `json:"z"`
	PValue    float64 `json:"p_value"`
	Candidate int     `json:"n_candidate"`
	Baseline  int     `json:"n_baseline"`
}

// ErrInvalidCounts is returned for negative counts or more events than trials.
var ErrInvalidCounts = errors.New("mlstats: event count outside [0, total]")

// MannWhitneyU tests whether candidate values tend to differ from baseline
// values. Non-finite values are skipped; a group with fewer than minSamples
// values (DefaultMinSamples if minSamples ≤ 0) gives an Insufficient result.
//
// U is the candidate's rank sum minus n₁(n₁+1)/2, with average ranks for
// ties. Under the null hypothesis U has mean n₁n₂/2 and, with the tie
// correction, variance n₁n₂/12 · ((N+1) − Σ(t³−t)/(N(N−1))), where t runs
// over the sizes of tied groups. The p-value is the normal approximation
// with a 0.5 continuity correction, as scipy.stats.mannwhitneyu
// method="asymptotic" computes it.
func MannWhitneyU(candidate, baseline []float64, alt Alternative, minSamples int) TestResult {
	cand, base := finiteSorted(candidate), finiteSorted(baseline)
	res := TestResult{Candidate: len(cand), Baseline: len(base)}
	if insufficient(minSamples, len(cand), len(base)) {
		res.Insufficient = true
		return res
	}
	rankSum, tieTerm := candidateRankSum(cand, base)
	n1, n2 := float64(len(cand)), float64(len(base))
	n := n1 + n2
	res.Statistic = rankSum - n1*(n1+1)/2
	sigma := math.Sqrt(n1 * n2 / 12 * ((n + 1) - tieTerm/(n*(n-1))))
	res.Z, res.PValue = normalTest(res.Statistic-n1*n2/2, 0.5, sigma, alt)
	return res
}

// candidateRankSum merges the two sorted samples, gives tied values their
// average rank, and returns the candidate's rank sum and Σ(t³−t) over ties.
func candidateRankSum(cand, base []float64) (rankSum, tieTerm float64) {
	type obs struct {
		v    float64
		cand bool
	}
	// Both inputs are sorted, so a merge orders them in linear time.
	all := make([]obs, 0, len(cand)+len(base))
	ci, bi := 0, 0
	for ci < len(cand) || bi < len(base) {
		if bi == len(base) || (ci < len(cand) && cand[ci] <= base[bi]) {
			all = append(all, obs{cand[ci], true})
			ci++
		} else {
			all = append(all, obs{base[bi], false})
			bi++
		}
	}
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		// Ranks i+1 … j share their mean.
		avg := float64(i+1+j) / 2
		for _, o := range all[i:j] {
			if o.cand {
				rankSum += avg
			}
		}
		t := float64(j - i)
		tieTerm += t*t*t - t
		i = j
	}
	return rankSum, tieTerm
}

// TwoProportionZ tests whether the candidate's event rate (e.g. errors per
// request) differs from the baseline's. Groups with fewer than minSamples
// trials (DefaultMinSamples if minSamples ≤ 0) give an Insufficient result.
//
// z = (p₁ − p₂) / √(p̂(1−p̂)(1/n₁ + 1/n₂)) with the pooled rate
// p̂ = (x₁+x₂)/(n₁+n₂), and no continuity correction, as
// statsmodels.stats.proportion.proportions_ztest computes it. When p̂ is 0
// or 1 both groups agree exactly and the p-value is 1.
func TwoProportionZ(candEvents, candTotal, baseEvents, baseTotal int, alt Alternative, minSamples int) (TestResult, error) {
	if candEvents < 0 || baseEvents < 0 || candEvents > candTotal || baseEvents > baseTotal {
		return TestResult{}, ErrInvalidCounts
	}
	res := TestResult{Candidate: candTotal, Baseline: baseTotal}
	if insufficient(minSamples, candTotal, baseTotal) {
		res.Insufficient = true
		return res, nil
	}
	n1, n2 := float64(candTotal), float64(baseTotal)
	p1, p2 := float64(candEvents)/n1, float64(baseEvents)/n2
	pooled := float64(candEvents+baseEvents) / (n1 + n2)
	res.Statistic = p1 - p2
	sigma := math.Sqrt(pooled * (1 - pooled) * (1/n1 + 1/n2))
	res.Z, res.PValue = normalTest(p1-p2, 0, sigma, alt)
	return res, nil
}

func insufficient(minSamples, n1, n2 int) bool {
	if minSamples <= 0 {
		minSamples = DefaultMinSamples
	}
	return n1 < minSamples || n2 < minSamples
}

// normalTest turns a deviation from the null mean into z and a p-value under
// the standard normal (gonum distuv.UnitNormal). correction shrinks the
// deviation toward zero, as a continuity correction does. A zero sigma means
// no variation at all, which is no evidence of a difference.
func normalTest(dev, correction, sigma float64, alt Alternative) (z, p float64) {
	if sigma == 0 || math.IsNaN(sigma) {
		return 0, 1
	}
	switch alt {
	case CandidateGreater:
		z = (dev - correction) / sigma
		return z, distuv.UnitNormal.Survival(z)
	case CandidateLess:
		z = (dev + correction) / sigma
		return z, distuv.UnitNormal.CDF(z)
	default:
		m := (math.Abs(dev) - correction) / sigma
		return math.Copysign(math.Max(m, 0), dev), clamp01(2 * distuv.UnitNormal.Survival(m))
	}
}
