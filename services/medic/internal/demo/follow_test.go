package demo

import (
	"strings"
	"testing"

	"github.com/medic-sre/medic/pkg/events"
)

// The demo reads each event as its type's Go value: a transition renders
// its status, and the incident's resolution ends the scenario.
func TestDescribeTransitions(t *testing.T) {
	res := &Result{IncidentID: "inc-12345678"}
	tests := []struct {
		name string
		data events.Data
		want string
	}{
		{name: "acknowledged", data: events.IncidentTransition{Status: events.StatusAcknowledged, IncidentID: res.IncidentID},
			want: "incident acknowledged   inc-1234"},
		{name: "mitigated, still firing", data: events.IncidentTransition{Status: events.StatusMitigated, IncidentID: res.IncidentID,
			Firing: []events.AnomalyRef{{Rule: "latency", Service: "gateway"}}},
			want: "incident mitigated      inc-1234; still firing: latency on gateway"},
		{name: "resolved", data: events.IncidentTransition{Status: events.StatusResolved, IncidentID: res.IncidentID},
			want: "incident resolved       inc-1234"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := describe(tc.data, res); strings.TrimSpace(got) != tc.want {
				t.Fatalf("%q, want %q", got, tc.want)
			}
		})
	}
	if !res.Resolved || len(res.ResolvedIncidents) != 1 {
		t.Fatalf("result %+v: want the incident resolved", res)
	}
}
