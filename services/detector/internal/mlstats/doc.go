// Package mlstats holds the statistics that Medic's drift, data-quality and
// canary detectors share: the Population Stability Index, the two-sample
// Kolmogorov–Smirnov test, the Mann–Whitney U test, the two-proportion z-test,
// serialisable reference profiles and bounded streaming summaries.
//
// Distributions and divergences come from gonum (stat, stat/distuv) and
// streaming quantiles from DataDog's DDSketch; what this package adds is the
// glue those libraries lack: quantile binning with an empty-bin epsilon, the
// p-value of the two-sample KS statistic, rank sums with tie correction, and
// the minimum-sample rules.
//
// Default thresholds follow Evidently's data-drift presets: a numeric feature
// drifts when the KS p-value is below 0.05, and PSI at or above 0.1 is a
// warning and at or above 0.25 critical.
//
// Non-finite inputs (NaN, ±Inf) are skipped by every function here and
// counted where a result has room for it: counting them as data-quality
// problems is the data-quality detector's job, not a reason to bias a test.
package mlstats
