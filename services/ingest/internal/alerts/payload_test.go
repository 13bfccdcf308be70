package alerts

import (
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
)

// Labels map onto the anomaly's scope, severity and metric; values come
// from Grafana's values or valueString.
func TestMapLabels(t *testing.T) {
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		a    Alert
		want events.AnomalyDetected
	}{
		{name: "service_name and ml model", a: Alert{Labels: map[string]string{"alertname": "Drift", "service_name": "scorer", "ml_model_name": "fraud", "version": "v3", "severity": "INFO", "metric": "feature.amount"}},
			want: events.AnomalyDetected{Rule: "Drift", Metric: "feature.amount", Severity: "info", Service: "scorer", Model: "fraud", ModelVersion: "v3"}},
		{name: "service wins over job", a: Alert{Labels: map[string]string{"alertname": "A", "service": "gw", "job": "j", "severity": "page"}},
			want: events.AnomalyDetected{Rule: "A", Metric: "A", Severity: "critical", Service: "gw"}},
		{name: "unknown severity", a: Alert{Labels: map[string]string{"alertname": "A", "job": "j", "severity": "sev2"}, ValueString: "[ metric='x' labels={} value=12.5 ]"},
			want: events.AnomalyDetected{Rule: "A", Metric: "A", Severity: "warning", Service: "j", Value: 12.5}},
		{name: "NaN value", a: Alert{Labels: map[string]string{"alertname": "A"}, ValueString: "[ value=NaN ]"},
			want: events.AnomalyDetected{Rule: "A", Metric: "A", Severity: "warning"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.a.Status = StatusFiring
			em, err := Map(tc.a, now)
			if err != nil {
				t.Fatal(err)
			}
			d := em.Data.(events.AnomalyDetected)
			if d.Rule != tc.want.Rule || d.Metric != tc.want.Metric || d.Severity != tc.want.Severity || d.Service != tc.want.Service ||
				d.Model != tc.want.Model || d.ModelVersion != tc.want.ModelVersion || d.Value != tc.want.Value {
				t.Errorf("got %+v, want %+v", d, tc.want)
			}
			if d.Fingerprint == "" || d.StartedUnixNano != now.UnixNano() {
				t.Errorf("fingerprint %q, started %d: want one computed from the labels, and now for a missing startsAt", d.Fingerprint, d.StartedUnixNano)
			}
		})
	}
}
