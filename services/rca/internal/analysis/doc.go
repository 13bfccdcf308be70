// Package analysis ranks the root-cause candidates of an incident. It is pure:
// the queries that fill its inputs live in package query, so the scoring can
// be tested on hand-made series.
//
// # Method
//
// Time is cut into buckets of the symptom's own step (see Grid): 1 second
// for data sampled every second, 5 minutes for metrics exported every 5
// minutes. The symptom is the incident's first
// anomaly: a metric of one service, a ratio rule's "N / D" of two
// counters' rates (errors over requests), or a quantile rule's histogram.
// Its series y holds the metric's mean per bucket (for a ratio, the sum of N
// over the sum of D; for a histogram, the mean of the values it observed,
// from the increases of its _sum and _count) over the
// baseline B = [S-lead-baseline, S-lead) and the incident window
// W = [S-lead, analyzedAt], where S is when the symptom started.
//
// Each candidate carries one or more signals: series x, in the symptom's
// units, of how bad that candidate was per bucket. A model version's signal
// is the symptom's "bad mass" it served (the sum of the symptom metric over
// the requests it served, divided by all requests; for a ratio, its N over
// all versions' D), so the versions' signals
// add up to y; for a latency symptom no version is proposed, since served
// latency includes the callees' (see engine.ModelVersions). A service's signals are its self errors (error spans whose
// children did not fail, so errors that merely propagate up the call chain do
// not count), its self latency for latency symptoms, its WARN and ERROR log records
// per span, and the share of its responses with missing data (its *_ratio
// metrics above zero, or its <x>.missing_rate over <x>.values_rate counters).
// A log template's signal is its warning and error lines per second (for the
// logs symptom; else per span of its service); a surging template lends it
// to its service as the signal log_template.
//
// For each signal, four numbers become evidence:
//   - corr: Pearson correlation of x and y over the buckets of B and W;
//   - lift: (mean x in W - mean x in B) / (stddev x in B + eps);
//   - explained: the share of the symptom's excess in W (mean in W minus
//     mean in B) that the candidate's own excess accounts for, in [0, 1];
//   - proximity: exp(-|S - t| / 60s) for the nearest change touching the
//     candidate (same service, or same model and version) made at or before
//     S + slack.
//
// A gauge signal (a service's own metric in the symptom's units, see
// MeasureGauge) is measured over the buckets where it has a value, and by
// its movement within the window as well as against the baseline; relative
// to its level when the baseline is too short to show its spread; and, when
// it left its baseline's range with the symptom without tracking it bucket
// by bucket, by that departure, scaled down (N-Sigma's rule). Its explained
// share counts only the window's buckets it reported in.
//
// A signal scores max(corr, 0) * explained * weight * specificity, and a
// candidate takes its best signal, times (1 + 0.5 * proximity). With a call
// graph, a service's score is then weighed by its rank on a personalised
// PageRank over the calls (see weighByGraph and package callgraph). Weights
// encode how precisely a candidate points at the fault: a model version 1.0,
// a log template 1.0 (it names the very line that surged, and its
// specificity is the share of its window rate that is new),
// a service's missing data 1.0 (bad data is where downstream errors start,
// so the service that served it outranks the service that choked on it), a
// service's self errors, error logs or latency 0.8. Specificity is 1 - min(share of
// requests the version served in B, share in W): a version that served all
// traffic before and during the incident singles nothing out.
//
// A change is a candidate too: proximity times the best score of the
// candidates it touches, times 0.9, so it ranks just below what it broke.
// The nearest change touching a cause is attached to it (change_id), so
// that causes which are one explanation can be told apart from rivals; when
// every rank-1 cause points at the same change, its time is the fault's
// start.
//
// # Ranks, ties and confidence
//
// Causes whose scores are equal within TieEpsilon share a rank (1, 1, 3);
// no name order breaks a tie, and the result says Tie when more than one
// cause has rank 1. Confidence (see its doc) combines the strength of rank
// 1, its margin over the best rival explanation, the sufficiency of the
// baseline and ties into one number in [0, 1]. Without a baseline there is
// no excess to explain, and summaries say "accounts for N% of the symptom
// in the window, with no baseline to compare with" instead.
package analysis
