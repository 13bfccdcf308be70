package engine

import (
	"testing"

	"github.com/medic-sre/medic/pkg/events"
)

// firedBefore runs the errors rule into a fault on service s and returns the
// anomaly.detected it emitted, as a detector that then stopped would have
// kept it.
func firedBefore(t *testing.T) events.AnomalyDetected {
	t.Helper()
	out := run(newEngine(t, errorRule()), pts(errMetric, "s", "f", 0, 2000, 20, 0), pts(errMetric, "s", "f", 2000, 4000, 20, 1))
	if len(out) != 1 {
		t.Fatalf("want one anomaly.detected before the restart, got %v", describe(out))
	}
	return out[0].Data.(events.AnomalyDetected)
}

// A new engine given the anomalies that were firing keeps them firing: it
// detects nothing new while the fault lasts, and resolves under the
// original id once the series is healthy or silent; an anomaly the rules
// can no longer hold is resolved at once.
func TestRestore(t *testing.T) {
	d := firedBefore(t)
	ok := pts(errMetric, "s", "f", 4000, 6000, 20, 0)
	bad := pts(errMetric, "s", "f", 4000, 6000, 20, 1)
	other := pts(errMetric, "t", "f", 4000, 6000, 20, 0) // another series: d's has no data
	renamed, regrouped := d, d
	renamed.Rule = "gone"
	regrouped.Labels = map[string]string{"service": "s"}
	tests := []struct {
		name    string
		restore events.AnomalyDetected
		after   []events.Point
		want    []string // "detected" or "resolved <anomaly id>", in order
	}{
		{name: "healthy data resolves the original anomaly", restore: d, after: ok, want: []string{"resolved " + d.AnomalyID}},
		{name: "no data for the series resolves it", restore: d, after: other, want: []string{"resolved " + d.AnomalyID}},
		{name: "a fault still on stays firing, detecting nothing new", restore: d, after: bad},
		{name: "an anomaly of a rule that is gone resolves at once", restore: renamed, want: []string{"resolved " + d.AnomalyID}},
		{name: "an anomaly of a rule that groups otherwise resolves at once", restore: regrouped, want: []string{"resolved " + d.AnomalyID}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, errorRule())
			out := e.Restore([]events.AnomalyDetected{tc.restore}, wallClock)
			if tc.after != nil {
				out = append(out, run(e, tc.after)...)
			}
			sameTimeline(t, outcomes(t, out), tc.want)
		})
	}
}

// outcomes renders emissions as "detected" or "resolved <anomaly id>", and
// checks that a resolution's event id derives from the anomaly it names.
func outcomes(t *testing.T, out []Emission) []string {
	t.Helper()
	var s []string
	for _, em := range out {
		switch d := em.Data.(type) {
		case events.AnomalyDetected:
			s = append(s, "detected")
		case events.AnomalyResolved:
			if want := events.DerivedID("anomaly.resolved", d.Fingerprint, itoa(t0+ms(2000))); em.ID != want {
				t.Errorf("resolved event id %s, want %s", em.ID, want)
			}
			s = append(s, "resolved "+d.AnomalyID)
		}
	}
	return s
}
