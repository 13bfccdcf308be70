package suite

// awaitingDrift is why the drift kinds are not asserted yet.
const awaitingDrift = "needs the drift detector (PSI/KS) being added on branch drift; its expected rules are in testdata/rules.yaml, commented"

// Kinds are the suite's scenario kinds, by the simulator's scenario name,
// and the suite rules (testdata/rules.yaml) that catch each.
var Kinds = []Kind{
	{Name: "healthy"},
	{Name: "bad_model_version", Rules: []string{"model_error_rate", "version_error_rate"}},
	{Name: "feature_nulls", Rules: []string{"missing_features"}},
	{Name: "feature_drift", Rules: []string{"amount_drift"}, Awaiting: awaitingDrift},
	{Name: "categorical_shift", Rules: []string{"channel_shift"}, Awaiting: awaitingDrift},
	{Name: "out_of_range", Rules: []string{"account_age_out_of_range"}},
	{Name: "accuracy_drop", Rules: []string{"accuracy_drop"}},
	{Name: "worse_canary", Rules: []string{"version_error_rate"}},
	{Name: "slow_dependency", Rules: []string{"feature_latency_p95"}},
	{Name: "error_burst", Rules: []string{"model_error_rate", "version_error_rate"}},
	{Name: "throughput_drop", Rules: []string{"throughput_drop"}},
	{Name: "memory_exhaustion", Rules: []string{"memory_growth"}},
}
