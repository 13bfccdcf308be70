package notify_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/outcome"
	"github.com/medic-sre/medic/services/notifier/internal/notify"
)

const t0 = int64(1_700_000_000_000_000_000)

// update rewrites the golden files from the payloads built; review the
// diff before committing it.
var update = flag.Bool("update", false, "rewrite testdata golden files")

func TestBuildPayload(t *testing.T) {
	title := "prediction.error high on model-server"
	tr := events.IncidentTransition{IncidentID: "inc-1", GroupKey: "model=fraud", Title: title, AtUnixNano: t0 + 100e9,
		FaultStartedUnixNano: t0 - 10e9, DetectedUnixNano: t0 + 5e8, ResolvedUnixNano: t0 + 90e9,
		TopCause:    &events.Cause{Rank: 1, Kind: events.CauseModelVersion, ID: "fraud@v2", Score: 0.91, Model: "fraud", ModelVersion: "v2"},
		Remediation: &events.RemediationSummary{ExecutionID: "x1", Runbook: "rollback-bad-model-version", Outcome: "succeeded"}}
	a1 := events.AnomalyRef{AnomalyID: "a1", Rule: "error-rate", Metric: "prediction.error", Service: "model-server", Model: "fraud", ModelVersion: "v2"}
	a2 := events.AnomalyRef{AnomalyID: "a2", Rule: "latency-p99", Metric: "http.latency.p99", Service: "feature-store"}
	firing := tr
	firing.Firing, firing.MitigatedUnixNano = []events.AnomalyRef{a2}, t0+60e9
	cause := &events.Cause{Rank: 1, Kind: events.CauseModelVersion, ID: "fraud@v2", Score: 0.31}
	tests := []struct {
		name   string
		data   events.Data
		known  []events.AnomalyRef
		golden string
	}{
		{name: "opened", golden: "opened.json", data: events.IncidentOpened{IncidentID: "inc-1", GroupKey: "model=fraud", Title: title,
			Severity: events.SeverityCritical, StartedUnixNano: t0, DetectedUnixNano: t0 + 5e8, OpenedUnixNano: t0 + 6e8,
			Anomalies: []events.AnomalyRef{{AnomalyID: "a1", Rule: "r1", Metric: "m", Service: "s"}, {AnomalyID: "a2", Rule: "r2", Metric: "m", Service: "s"}}}},
		{name: "resolved", golden: "resolved.json", data: withStatus(events.StatusResolved, tr)},
		{name: "resolved with nothing known", golden: "resolved_bare.json",
			data: withStatus(events.StatusResolved, events.IncidentTransition{IncidentID: "inc-1", AtUnixNano: t0 + 90e9})},
		{name: "resolved, listing what cleared", golden: "resolved_cleared.json", known: []events.AnomalyRef{a1, a2},
			data: withStatus(events.StatusResolved, tr)},
		{name: "mitigated with an anomaly still firing", golden: "mitigated_firing.json", known: []events.AnomalyRef{a1, a2},
			data: withStatus(events.StatusMitigated, firing)},
		{name: "mitigated with an anomaly still firing, anomalies unknown", golden: "mitigated_firing_unknown.json",
			data: withStatus(events.StatusMitigated, firing)},
		{name: "mitigated with nothing firing", golden: "mitigated_clear.json", known: []events.AnomalyRef{a1},
			data: withStatus(events.StatusMitigated, events.IncidentTransition{IncidentID: "inc-1", Title: title,
				AtUnixNano: t0 + 60e9, MitigatedUnixNano: t0 + 60e9, Remediation: tr.Remediation})},
		{name: "remediation failed", golden: "failed.json", data: events.RemediationFailed{Remediation: events.Remediation{
			ExecutionID: "x1", IncidentID: "inc-1", Runbook: "rollback-bad-model-version", CauseID: "fraud@v2",
			Steps: []events.Step{{Name: "rollback", Action: "rollback_model", Status: "failed"}},
			Error: "verify: prediction.error 0.42 still above 0.05 after 60s", StartedUnixNano: t0, FinishedUnixNano: t0 + 70e9}}},
		{name: "escalated: no runbook", golden: "escalated_no_runbook.json", data: events.RemediationEscalated{
			EscalationID: "e1", IncidentID: "inc-1", AnalysisID: "an1", Reason: events.EscalationNoRunbook,
			Detail: "no runbook matches cause feature:user_age", EscalatedUnixNano: t0,
			Cause: &events.Cause{Rank: 1, Kind: events.CauseFeature, ID: "user_age", Score: 0.8}, Confidence: 0.8}},
		{name: "escalated: low confidence", golden: "escalated_low_confidence.json", data: events.RemediationEscalated{
			EscalationID: "e2", IncidentID: "inc-1", AnalysisID: "an1", Reason: events.EscalationLowConfidence,
			Detail: "confidence 0.31 below 0.60", Runbook: "rollback-bad-model-version", Confidence: 0.31, Cause: cause, EscalatedUnixNano: t0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := events.New("test", tc.data); err != nil {
				t.Fatal(err) // the data must be valid on the bus
			}
			p, err := notify.Build(tc.data, tc.known)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.MarshalIndent(p, "", "  ")
			path := filepath.Join("testdata", tc.golden)
			if *update {
				if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !jsonEqual(t, got, want) {
				t.Fatalf("payload\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestBuildRejectsOtherTypes(t *testing.T) {
	for _, d := range []events.Data{
		events.ChangeRecorded{ChangeID: "c", Kind: "deploy", Service: "s", TimeUnixNano: t0},
		withStatus(events.StatusAcknowledged, events.IncidentTransition{IncidentID: "inc-1", AtUnixNano: t0}),
	} {
		if _, err := notify.Build(d, nil); !outcome.IsPermanent(err) {
			t.Fatalf("%s: want a permanent error, got %v", d.EventType(), err)
		}
	}
}

// withStatus is tr as a transition to status.
func withStatus(status string, tr events.IncidentTransition) events.IncidentTransition {
	tr.Status = status
	return tr
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	ca, _ := json.Marshal(x)
	cb, _ := json.Marshal(y)
	return bytes.Equal(ca, cb)
}
