package notify_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/notifier/internal/notify"
)

const t0 = int64(1_700_000_000_000_000_000)

func TestBuildPayload(t *testing.T) {
	title := "prediction.error high on model-server"
	tr := events.IncidentTransition{IncidentID: "inc-1", GroupKey: "model=fraud", Title: title, AtUnixNano: t0 + 100e9,
		FaultStartedUnixNano: t0 - 10e9, DetectedUnixNano: t0 + 5e8, ResolvedUnixNano: t0 + 90e9,
		TopCause:    &events.Cause{Rank: 1, Kind: events.CauseModelVersion, ID: "fraud@v2", Score: 0.91, Model: "fraud", ModelVersion: "v2"},
		Remediation: &events.RemediationSummary{ExecutionID: "x1", Runbook: "rollback-bad-model-version", Outcome: "succeeded"}}
	tests := []struct {
		name   string
		data   events.Data
		golden string
	}{
		{name: "opened", golden: "opened.json", data: events.IncidentOpened{IncidentID: "inc-1", GroupKey: "model=fraud", Title: title,
			Severity: events.SeverityCritical, StartedUnixNano: t0, DetectedUnixNano: t0 + 5e8, OpenedUnixNano: t0 + 6e8,
			Anomalies: []events.AnomalyRef{{AnomalyID: "a1", Rule: "r1", Metric: "m", Service: "s"}, {AnomalyID: "a2", Rule: "r2", Metric: "m", Service: "s"}}}},
		{name: "resolved", golden: "resolved.json", data: events.IncidentResolved{IncidentTransition: tr}},
		{name: "resolved with nothing known", golden: "resolved_bare.json",
			data: events.IncidentResolved{IncidentTransition: events.IncidentTransition{IncidentID: "inc-1", AtUnixNano: t0 + 90e9}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := events.New("test", tc.data)
			if err != nil {
				t.Fatal(err)
			}
			p, err := notify.Build(ev)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.MarshalIndent(p, "", "  ")
			want, err := os.ReadFile(filepath.Join("testdata", tc.golden))
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
	ev, err := events.New("test", events.ChangeRecorded{ChangeID: "c", Kind: "deploy", Service: "s", TimeUnixNano: t0})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := notify.Build(ev); !bus.IsPermanent(err) {
		t.Fatalf("want a permanent error, got %v", err)
	}
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
