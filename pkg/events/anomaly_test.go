package events

import (
	"encoding/json"
	"testing"
)

// The evidence of anomaly.detected and the reason of anomaly.resolved are
// optional: anomalies with them and without (older detectors, Alertmanager)
// both keep to their v1 schemas, and the schemas bound what they hold.
func TestAnomalyEvidenceIsOptional(t *testing.T) {
	expected, z, p := 131.0, 9.5, 0.01
	badP := 1.5
	detected := AnomalyDetected{AnomalyID: "a", Rule: "r", Fingerprint: "f", Metric: "m", Severity: SeverityWarning,
		Service: "s", StartedUnixNano: 1, DetectedUnixNano: 2}
	withEvidence := detected
	withEvidence.Detector, withEvidence.Expected, withEvidence.Statistic, withEvidence.PValue = "zscore", &expected, &z, &p
	withEvidence.WindowSeconds, withEvidence.BaselineSeconds, withEvidence.Reference = 10, 600, "trailing window 30m, lag 10m"
	badPValue := withEvidence
	badPValue.PValue = &badP
	resolved := AnomalyResolved{AnomalyID: "a", Rule: "r", Fingerprint: "f", Metric: "m", Service: "s", ResolvedUnixNano: 3}
	withReason := resolved
	withReason.Reason = ResolvedNoData
	tests := []struct {
		name  string
		data  Data
		valid bool
	}{
		{name: "detected without evidence", data: detected, valid: true},
		{name: "detected with evidence", data: withEvidence, valid: true},
		{name: "p_value above 1", data: badPValue},
		{name: "resolved without reason", data: resolved, valid: true},
		{name: "resolved with a reason", data: withReason, valid: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if err := ValidateData(tc.data.EventType(), b); (err == nil) != tc.valid {
				t.Fatalf("valid %v, got %v for %s", tc.valid, err, b)
			}
		})
	}
	b, _ := json.Marshal(detected)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"detector", "expected", "statistic", "p_value", "window_seconds", "baseline_seconds", "reference"} {
		if _, ok := m[k]; ok {
			t.Errorf("%s is written when unset", k)
		}
	}
}
