package rules

import "time"

// Lookback is how much telemetry before now the rule's state reflects: its
// window and `for`, plus a zscore, ewma or volume baseline, a drift rule's
// trailing reference, or a quality rule's label delay (labels that came in
// it count in windows not judged yet). A restarted detector replays this
// much of the telemetry it had evaluated to rebuild that state.
func (r Rule) Lookback() time.Duration {
	past := time.Duration(0)
	switch r.Kind() {
	case DetectorZScore, DetectorEWMA, DetectorVolume:
		past = r.BaselineSpan()
	case DetectorDrift:
		if r.Reference != nil && r.Reference.Profile == "" {
			past = r.Reference.Window + r.Reference.Lag
		}
	case DetectorQuality:
		past = r.LabelDelay
	}
	return r.Window + r.For + past
}

// Lookback is the longest Lookback of the file's rules.
func (f *File) Lookback() time.Duration {
	var longest time.Duration
	for _, r := range f.Rules {
		longest = max(longest, r.Lookback())
	}
	return longest
}
