package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/medic-sre/medic/pkg/events"
)

// A mitigation that left an anomaly firing must say so and page, and name
// what cleared: the notifier remembers the incident's anomalies from
// incident.opened and incident.updated, which notify nobody themselves.
func TestMitigatedListsWhatIsStillFiring(t *testing.T) {
	h := newHarness(t, "", []int{200})
	h.run(t)
	incident := "inc-" + uuid.NewString()
	opened := incidentOpened(incident)
	latency := events.AnomalyRef{AnomalyID: "a2", Rule: "latency-p99", Metric: "http.latency.p99", Service: "feature-store"}
	updated := events.IncidentUpdated{IncidentOpened: opened, AddedAnomalyIDs: []string{"a2"}, UpdatedUnixNano: time.Now().UnixNano()}
	updated.Anomalies = append(append([]events.AnomalyRef{}, opened.Anomalies...), latency)
	now := time.Now().UnixNano()
	mitigated := events.IncidentTransition{Status: events.StatusMitigated, IncidentID: incident, Title: opened.Title,
		AtUnixNano: now, DetectedUnixNano: opened.DetectedUnixNano, MitigatedUnixNano: now,
		Remediation: &events.RemediationSummary{ExecutionID: "x1", Runbook: "rollback-bad-model-version", Outcome: "succeeded"},
		Firing:      []events.AnomalyRef{latency}}
	for _, d := range []events.Data{opened, updated, mitigated} {
		if _, err := h.pub.Emit(context.Background(), uuid.NewString(), d); err != nil {
			t.Fatal(err)
		}
	}
	h.waitDrained(t)
	posts := h.recv.Posts()
	if len(posts) != 2 {
		t.Fatalf("%d posts, want 2 (opened, mitigated; updated notifies nobody)", len(posts))
	}
	var body struct {
		About   string `json:"about"`
		Urgency string `json:"urgency"`
		Status  string `json:"status"`
		Summary string `json:"summary"`
		Firing  []events.AnomalyRef
		Cleared []events.AnomalyRef
	}
	if err := json.Unmarshal(posts[1].Body, &body); err != nil {
		t.Fatal(err)
	}
	if body.About != "incident.mitigated" || body.Status != "mitigated" || body.Urgency != "notify" {
		t.Fatalf("mitigated body %s", posts[1].Body)
	}
	if len(body.Firing) != 1 || body.Firing[0].AnomalyID != "a2" || len(body.Cleared) != 1 || body.Cleared[0].AnomalyID != "a1" {
		t.Fatalf("firing %+v cleared %+v, want a2 firing and a1 cleared", body.Firing, body.Cleared)
	}
	if !strings.Contains(body.Summary, "still firing latency-p99") || !strings.Contains(body.Summary, "cleared error-rate") {
		t.Fatalf("summary %q does not say what is still firing and what cleared", body.Summary)
	}
}
