package serving

import (
	"errors"
	"math"
	"time"

	"github.com/medic-sre/medic/services/simulator/internal/fault"
	"github.com/medic-sre/medic/services/simulator/internal/model"
)

// How the scenario suite's faults bite (see fault/suite_kinds.go).
const (
	// DriftFactor is how far feature_drift scales the amount, reached
	// after DriftRamp.
	DriftFactor = 3.0
	DriftRamp   = 10 * time.Minute
	// OutOfRangeShare of requests get an account_age_days of
	// OutOfRangeDays or more (over a century: a unit bug, minutes for days).
	OutOfRangeShare = 0.3
	OutOfRangeDays  = 36500
	// FlippedLabelShare of the labels disagree with the old world under
	// accuracy_drop.
	FlippedLabelShare = 0.35
	// CanaryShare of the traffic goes to the canary under worse_canary.
	CanaryShare = 0.2
	// BurstOn out of every BurstPeriod, BurstErrorShare of requests fail.
	BurstOn         = 20 * time.Second
	BurstPeriod     = time.Minute
	BurstErrorShare = 0.5
	// ThroughputShare is the traffic left under throughput_drop.
	ThroughputShare = 0.35
	// LeakBytesPerSecond is the model-server's leak; MemoryLimitBytes is
	// where it stops (the container's limit).
	LeakBytesPerSecond = 12e6
	MemoryLimitBytes   = 2e9
)

// ErrOverloaded is the model-server's failure during an error burst.
var ErrOverloaded = errors.New("model server overloaded")

// routeVersion is the version that answers one request: the serving one,
// or the canary for a share of traffic under worse_canary.
func (p *Pipeline) routeVersion() string {
	if p.Faults.Active(fault.WorseCanary) && p.rng.Float64() < CanaryShare {
		return model.V3Canary
	}
	return p.Registry.Serving()
}

// sampleFeatures draws the world's transaction: feature_drift and
// categorical_shift change the world, so they act on the truth.
func (p *Pipeline) sampleFeatures(at time.Time) model.Features {
	f := model.SampleFeatures(p.rng)
	if d, ok := p.Faults.Get(fault.FeatureDrift); ok {
		ramp := math.Min(1, float64(at.Sub(d.Since))/float64(DriftRamp))
		f.Amount *= 1 + (DriftFactor-1)*math.Max(0, ramp)
	}
	if p.Faults.Active(fault.CategoricalShift) {
		f.Channel = model.SampleChannel(p.rng, model.ShiftedChannelMix)
	}
	return f
}

// groundTruth draws whether a transaction is fraud; under accuracy_drop a
// share of outcomes no longer follow what the model learned.
func (p *Pipeline) groundTruth(f model.Features) bool {
	fraud := p.rng.Float64() < model.FraudProbability(f)
	if p.Faults.Active(fault.AccuracyDrop) && p.rng.Float64() < FlippedLabelShare {
		fraud = !fraud
	}
	return fraud
}

// breakRange is the feature-service bug of out_of_range.
func (p *Pipeline) breakRange(f model.Features) model.Features {
	if p.Faults.Active(fault.OutOfRange) && p.rng.Float64() < OutOfRangeShare {
		f.AccountAgeDays = OutOfRangeDays + 1440*f.AccountAgeDays
	}
	return f
}

// burstError is the model-server's failure during an error burst, if any.
func (p *Pipeline) burstError(at time.Time) error {
	b, ok := p.Faults.Get(fault.ErrorBurst)
	if !ok || at.Sub(b.Since)%BurstPeriod >= BurstOn {
		return nil
	}
	if p.rng.Float64() < BurstErrorShare {
		return ErrOverloaded
	}
	return nil
}

// TrafficShare is the share of the usual traffic that arrives now.
func (p *Pipeline) TrafficShare() float64 {
	if p.Faults.Active(fault.ThroughputDrop) {
		return ThroughputShare
	}
	return 1
}

// baseMemoryBytes is each tier's usual resident memory.
var baseMemoryBytes = map[string]float64{Gateway: 150e6, FeatureService: 300e6, ModelServer: 800e6}

// MemoryBytes is a tier's resident memory at `at`: its usual size with a
// little noise, plus the leak of memory_exhaustion on the model-server.
// Like Serve, it is called from one goroutine only.
func (p *Pipeline) MemoryBytes(service string, at time.Time) float64 {
	m := baseMemoryBytes[service] * (1 + 0.02*p.rng.NormFloat64())
	if f, ok := p.Faults.Get(fault.MemoryExhaustion); ok && service == ModelServer {
		m += LeakBytesPerSecond * math.Max(0, at.Sub(f.Since).Seconds())
	}
	return math.Min(m, MemoryLimitBytes)
}
