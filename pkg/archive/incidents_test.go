package archive

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/storetest"
)

// record decodes an incident state as the correlator saves it.
func record(t *testing.T, raw string) *IncidentRecord {
	t.Helper()
	var r IncidentRecord
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// Each saved version writes a row; FINAL shows the incident at its newest
// version with every field the state holds.
func TestWriteKeepsNewestVersion(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	w := NewIncidentWriter(s)
	opened := record(t, `{"id":"inc-1","group_key":"model=fraud","title":"latency","severity":"critical","service":"model-server",
		"model":"fraud","version":1,"started_unix_nano":100,"fault_started_unix_nano":100,"fault_start_source":"symptom_onset",
		"detected_unix_nano":200,"opened_unix_nano":300,"anomalies":[],"opened_by":"e1"}`)
	if err := w.Write(ctx, opened); err != nil {
		t.Fatal(err)
	}
	mitigated := record(t, `{"id":"inc-1","group_key":"model=fraud","title":"latency","severity":"critical","service":"model-server",
		"model":"fraud","version":3,"started_unix_nano":100,"fault_started_unix_nano":50,"fault_start_source":"change",
		"detected_unix_nano":200,"opened_unix_nano":300,"acknowledged_unix_nano":400,"mitigated_unix_nano":500,
		"top_cause":{"rank":1,"kind":"change","id":"deploy-7","score":1},"acknowledged_by":"remediation:x",
		"remediation":{"execution_id":"x","runbook":"rollback_model","outcome":"succeeded"},"anomalies":[],"opened_by":"e1"}`)
	if err := w.Write(ctx, mitigated); err != nil {
		t.Fatal(err)
	}
	var (
		n                                                   uint64
		version                                             uint64
		status, cause, kind, runbook, result, source, ackBy string
		fault, detected, acked, mitigatedAt                 int64
	)
	err := s.Conn().QueryRow(ctx, `SELECT count(), any(version), any(toString(status)), any(top_cause), any(top_cause_kind),
		any(runbook), any(remediation_outcome), any(fault_started_unix_nano), any(fault_start_source), any(detected_unix_nano),
		any(acknowledged_unix_nano), any(acknowledged_by), any(mitigated_unix_nano) FROM incidents FINAL`).
		Scan(&n, &version, &status, &cause, &kind, &runbook, &result, &fault, &source, &detected, &acked, &ackBy, &mitigatedAt)
	if err != nil {
		t.Fatal(err)
	}
	got := [...]any{n, version, status, cause, kind, runbook, result, fault, source, detected, acked, ackBy, mitigatedAt}
	want := [...]any{uint64(1), uint64(3), "mitigated", "deploy-7", events.CauseChange, "rollback_model", "succeeded",
		int64(50), events.FaultStartChange, int64(200), int64(400), "remediation:x", int64(500)}
	if got != want {
		t.Fatalf("row = %v, want %v", got, want)
	}
}

// An incident that no analysis explained keeps its estimated fault start,
// an escalation's reason is on the row, and a state saved before fault
// start sources were recorded counts its fault start as a change's.
func TestWriteFaultStartSourcesAndEscalation(t *testing.T) {
	tests := []struct {
		name, raw   string
		wantFault   int64
		wantSource  string
		wantOutcome string
		wantDetail  string
	}{
		{name: "escalated estimate",
			raw: `{"id":"inc-1","group_key":"g","title":"t","severity":"warning","version":2,"fault_started_unix_nano":100,
				"fault_start_source":"symptom_onset","detected_unix_nano":200,"opened_unix_nano":300,
				"remediation":{"execution_id":"esc-1","runbook":"","outcome":"escalated","detail":"low_confidence: confidence 0.41 below 0.6"}}`,
			wantFault: 100, wantSource: events.FaultStartSymptomOnset, wantOutcome: "escalated", wantDetail: "low_confidence: confidence 0.41 below 0.6"},
		{name: "no source saved", raw: `{"id":"inc-1","group_key":"g","title":"t","severity":"warning","version":1,
				"fault_started_unix_nano":70,"detected_unix_nano":200,"opened_unix_nano":300}`,
			wantFault: 70, wantSource: events.FaultStartChange},
		{name: "no fault start", raw: `{"id":"inc-1","group_key":"g","title":"t","severity":"warning","version":1,
				"detected_unix_nano":200,"opened_unix_nano":300}`,
			wantFault: 0, wantSource: events.FaultStartUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := storetest.New(t)
			ctx := context.Background()
			if err := NewIncidentWriter(s).Write(ctx, record(t, tt.raw)); err != nil {
				t.Fatal(err)
			}
			var status, source, outcome, detail string
			var fault int64
			err := s.Conn().QueryRow(ctx, `SELECT toString(status), fault_started_unix_nano, fault_start_source,
				remediation_outcome, remediation_detail FROM incidents FINAL`).Scan(&status, &fault, &source, &outcome, &detail)
			if err != nil {
				t.Fatal(err)
			}
			got := [...]any{status, fault, source, outcome, detail}
			want := [...]any{"open", tt.wantFault, tt.wantSource, tt.wantOutcome, tt.wantDetail}
			if got != want {
				t.Fatalf("row = %v, want %v", got, want)
			}
		})
	}
}
