// Package model simulates the versions of the "fraud" model: how often each
// one fails, how long it takes and how good its scores are. Nothing sleeps:
// latencies are numbers drawn from each version's distribution.
package model

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// Name is the model the simulator serves.
const Name = "fraud"

// Version names.
const (
	V1     = "v1"
	V2     = "v2"
	Backup = "backup"
	// V1Patch is a good release: it behaves as v1 (a benign deploy).
	V1Patch = "v1.1"
	// V3Canary is the worse canary that the worse_canary fault routes a
	// share of traffic to.
	V3Canary = "v3"
)

// Errors a prediction can fail with.
var (
	// ErrShapeMismatch is the bad version's failure: it was trained on a
	// different feature layout than the feature-service serves.
	ErrShapeMismatch = errors.New("feature shape mismatch")
	// ErrInference is the rare failure of a healthy version.
	ErrInference = errors.New("inference failed")
	// ErrMissingFeature means a required feature arrived null. Every
	// version refuses to score such a request rather than scoring garbage,
	// so feature_nulls shows up as errors tied to feature.missing_ratio.
	ErrMissingFeature = errors.New("missing feature merchant_risk")
)

// Spec is how one version behaves.
type Spec struct {
	Version string
	// ErrorProb is the chance that a request with complete features fails.
	ErrorProb float64
	// LatencyP50Ms is the median latency; latencies are log-normal.
	LatencyP50Ms float64
	// Skew is added to the fraud probability before scoring; the bad
	// version's positive skew flags most traffic as fraud.
	Skew float64
	// Noise is the standard deviation of the score's error.
	Noise float64
	// Err is the error a failing request returns.
	Err error
}

// Specs are the known versions.
var Specs = map[string]Spec{
	V1:       {Version: V1, ErrorProb: 0.005, LatencyP50Ms: 20, Noise: 0.05, Err: ErrInference},
	V2:       {Version: V2, ErrorProb: 0.35, LatencyP50Ms: 24, Skew: 0.45, Noise: 0.15, Err: ErrShapeMismatch},
	Backup:   {Version: Backup, ErrorProb: 0.01, LatencyP50Ms: 22, Skew: 0.15, Noise: 0.12, Err: ErrInference},
	V1Patch:  {Version: V1Patch, ErrorProb: 0.005, LatencyP50Ms: 20, Noise: 0.05, Err: ErrInference},
	V3Canary: {Version: V3Canary, ErrorProb: 0.15, LatencyP50Ms: 34, Skew: 0.1, Noise: 0.1, Err: ErrInference},
}

// Lookup returns the spec of a version.
func Lookup(version string) (Spec, error) {
	s, ok := Specs[version]
	if !ok {
		return Spec{}, fmt.Errorf("unknown version %q of model %s", version, Name)
	}
	return s, nil
}

// Features are one request's model inputs. MerchantRisk is nil when the
// feature-service had no value.
type Features struct {
	Amount         float64
	MerchantRisk   *float64
	AccountAgeDays float64
	// Channel is categorical: where the transaction came from (see
	// Channels); the model does not use it.
	Channel string
}

// SampleFeatures draws one synthetic transaction; merchant_risk is skewed
// low, as most merchants are safe.
func SampleFeatures(rng *rand.Rand) Features {
	risk := math.Pow(rng.Float64(), 2)
	return Features{Amount: LogNormal(rng, 60, 1), MerchantRisk: &risk, AccountAgeDays: rng.ExpFloat64() * 400,
		Channel: SampleChannel(rng, ChannelMix)}
}

// MissingRatio is the fraction of features that are null.
func (f Features) MissingRatio() float64 {
	if f.MerchantRisk == nil {
		return 1.0 / 3
	}
	return 0
}

// Prediction is a model-server answer: a score in [0,1], or an error.
type Prediction struct {
	Score     float64
	LatencyMs float64
	Err       error
}

// Predict scores f. The latency is drawn even for failures, which take time too.
func (s Spec) Predict(rng *rand.Rand, f Features) Prediction {
	p := Prediction{LatencyMs: LogNormal(rng, s.LatencyP50Ms, 0.35)}
	if f.MerchantRisk == nil {
		p.Err = ErrMissingFeature
		return p
	}
	if rng.Float64() < s.ErrorProb {
		p.Err = s.Err
		return p
	}
	p.Score = clamp01(FraudProbability(f) + s.Skew + rng.NormFloat64()*s.Noise)
	return p
}

// FraudProbability is the ground truth the synthetic labels are drawn from:
// big amounts at risky merchants from new accounts are fraud.
func FraudProbability(f Features) float64 {
	risk := 0.0
	if f.MerchantRisk != nil {
		risk = *f.MerchantRisk
	}
	z := -6 + 0.6*math.Log1p(f.Amount) + 5*risk - 0.4*math.Log1p(f.AccountAgeDays)
	return 1 / (1 + math.Exp(-z))
}

// LogNormal draws a value whose median is p50 and log-spread sigma.
func LogNormal(rng *rand.Rand, p50, sigma float64) float64 {
	return p50 * math.Exp(rng.NormFloat64()*sigma)
}

func clamp01(x float64) float64 { return math.Max(0, math.Min(1, x)) }
