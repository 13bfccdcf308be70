package fault

// Fault kinds of the detector's scenario suite. What each does lives in
// the serving package (suite_faults.go); like the kinds above, they are
// injected and cleared through the control API or the recorder.
const (
	// FeatureDrift moves the amount feature's distribution: its scale
	// grows linearly to DriftFactor times over DriftRamp, then stays.
	FeatureDrift = "feature_drift"
	// CategoricalShift changes the mix of the channel feature at once,
	// from mostly web to mostly point-of-sale.
	CategoricalShift = "categorical_shift"
	// OutOfRange makes the feature-service serve an account_age_days of
	// over a century for a share of requests.
	OutOfRange = "out_of_range"
	// AccuracyDrop changes the world, not the model: a share of the
	// ground-truth labels disagree with what the model learned, which only
	// the (delayed) labels show.
	AccuracyDrop = "accuracy_drop"
	// WorseCanary routes a share of traffic to the canary version v3,
	// which fails more often and answers slower.
	WorseCanary = "worse_canary"
	// ErrorBurst makes the model-server fail half of its requests in
	// bursts: on for BurstOn out of every BurstPeriod.
	ErrorBurst = "error_burst"
	// ThroughputDrop cuts the traffic the gateway receives.
	ThroughputDrop = "throughput_drop"
	// MemoryExhaustion makes the model-server leak memory at a steady
	// rate until the fault is cleared (a restart).
	MemoryExhaustion = "memory_exhaustion"
)

// suiteKinds join Kinds at start; kept apart so that kinds added
// elsewhere merge without touching one line.
var suiteKinds = []string{FeatureDrift, CategoricalShift, OutOfRange, AccuracyDrop, WorseCanary,
	ErrorBurst, ThroughputDrop, MemoryExhaustion}

func init() { Kinds = append(Kinds, suiteKinds...) }
