package rules

import "time"

// Lookback is how much telemetry before now the rule's state reflects: its
// window and `for`, plus a zscore, ewma or volume baseline, or a drift
// rule's trailing reference. A restarted detector replays this much of the
// telemetry it had evaluated to rebuild that state. Quality rules are not
// counted: their outcome points come from the label join, not the stream.
func (r Rule) Lookback() time.Duration {
	past := time.Duration(0)
	switch r.Kind() {
	case DetectorZScore, DetectorEWMA, DetectorVolume:
		past = r.BaselineSpan()
	case DetectorDrift:
		if r.Reference != nil && r.Reference.Profile == "" {
			past = r.Reference.Window + r.Reference.Lag
		}
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
