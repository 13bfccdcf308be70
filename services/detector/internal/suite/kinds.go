package suite

import "time"

// gradualDelay is why the gradual drift gets a longer delay bound: the
// feature moves over 10 minutes, so 2 steps (30 s) in it has moved by 5%,
// which no distribution test with Evidently's thresholds can tell from
// noise. Three minutes is 30% of the ramp, or three of the drift rule's
// 1-minute windows.
const gradualDelay = "a 10-minute ramp: bound 3m (3 of its rule's 1-minute windows), not 2 steps"

// windowDelay is why a distribution test is bounded by its own windows: it
// judges a whole window of points once it has ended, so its delay is up
// to one window plus the engine's grace, not a fraction of a step.
const windowDelay = "bound 2m (2 of its rule's 1-minute windows), not 2 steps"

// Kinds are the suite's scenario kinds, by the simulator's scenario name,
// and the suite rules (testdata/rules.yaml) that catch each.
var Kinds = []Kind{
	{Name: "healthy"},
	{Name: "bad_model_version", Rules: []string{"model_error_rate", "version_error_rate"}},
	{Name: "feature_nulls", Rules: []string{"missing_features"}},
	{Name: "feature_drift", Rules: []string{"amount_drift"}, MaxMedianDelay: 3 * time.Minute, DelayBound: gradualDelay},
	{Name: "categorical_shift", Rules: []string{"channel_shift"}, MaxMedianDelay: 2 * time.Minute, DelayBound: windowDelay},
	{Name: "out_of_range", Rules: []string{"account_age_out_of_range"}},
	{Name: "accuracy_drop", Rules: []string{"accuracy_drop"}},
	{Name: "worse_canary", Rules: []string{"version_error_rate"}},
	{Name: "slow_dependency", Rules: []string{"feature_latency_p95"}},
	{Name: "error_burst", Rules: []string{"model_error_rate", "version_error_rate"}},
	{Name: "throughput_drop", Rules: []string{"throughput_drop"}},
	{Name: "memory_exhaustion", Rules: []string{"memory_growth"}},
}
