package rules

import (
	"testing"
	"time"
)

func TestLookback(t *testing.T) {
	tests := []struct {
		name string
		rule Rule
		want time.Duration
	}{
		{"threshold", Rule{Window: 10 * time.Second, For: 3 * time.Second}, 13 * time.Second},
		{"zscore, default baseline", Rule{Detector: DetectorZScore, Window: 10 * time.Second}, 10*time.Second + DefaultBaseline},
		{"volume", Rule{Detector: DetectorVolume, Window: 10 * time.Second, Baseline: time.Minute}, 70 * time.Second},
		{"drift, trailing reference", Rule{Detector: DetectorDrift, Window: time.Minute,
			Reference: &Reference{Window: 10 * time.Minute, Lag: time.Minute}}, 12 * time.Minute},
		{"quality", Rule{Detector: DetectorQuality, Window: time.Minute, LabelDelay: time.Hour}, time.Hour + time.Minute},
		{"drift, profile", Rule{Detector: DetectorDrift, Window: time.Minute, Reference: &Reference{Profile: "p.json"}}, time.Minute},
	}
	for _, tc := range tests {
		if got := tc.rule.Lookback(); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	f := &File{Rules: []Rule{tests[0].rule, tests[3].rule, tests[1].rule}}
	if got := f.Lookback(); got != 12*time.Minute {
		t.Errorf("file: %v, want the drift rule's 12m", got)
	}
}
