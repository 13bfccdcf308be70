package analysis

import (
	"strings"
	"testing"

	"github.com/medic-sre/medic/pkg/events"
)

// badVersion is a symptom that rises when v2 is deployed at bucket 40 of 60,
// with model-server's self errors and v2's served errors both following it.
func badVersion() Input {
	s := 42 * BucketNanos
	y := step(60, 40, 0.005, 0.35)
	return Input{
		Symptom: "prediction.error", SymptomStart: s,
		Baseline: Range{0, 30 * BucketNanos}, Window: Range{30 * BucketNanos, 60 * BucketNanos},
		Y: y,
		Candidates: []Candidate{
			{Kind: events.CauseModelVersion, ID: "model_version:fraud@v2", Service: "model-server", Model: "fraud", ModelVersion: "v2",
				Signals: []Signal{{Name: "served", X: step(60, 40, 0, 0.35), Weight: WeightModelVersion}}, Specificity: 1},
			{Kind: events.CauseModelVersion, ID: "model_version:fraud@v1", Model: "fraud", ModelVersion: "v1",
				Signals: []Signal{{Name: "served", X: step(60, 40, 0.005, 0), Weight: WeightModelVersion}}, Specificity: 1},
			{Kind: events.CauseService, ID: "service:model-server", Service: "model-server",
				Signals: []Signal{{Name: "self_errors", X: step(60, 40, 0.005, 0.35), Weight: WeightService}}, Specificity: 1},
			{Kind: events.CauseService, ID: "service:gateway", Service: "gateway",
				Signals: []Signal{{Name: "self_errors", X: Series{}, Weight: WeightService}}, Specificity: 1},
		},
		Changes: []Change{
			{ID: "c-v2", Kind: "deploy", Service: "model-server", Model: "fraud", ModelVersion: "v2", TimeUnixNano: 40 * BucketNanos},
			{ID: "c-late", Kind: "config", Service: "model-server", TimeUnixNano: 59 * BucketNanos},
		},
	}
}

func TestAnalyze(t *testing.T) {
	only := badVersion()
	only.Candidates[0].Specificity = 0 // v2 served everything all along
	empty := badVersion()
	empty.Y = Series{}
	tests := []struct {
		name        string
		in          Input
		wantIDs     []string
		wantChange  string
		wantFaultAt int64
	}{
		{name: "bad model version", in: badVersion(),
			wantIDs:    []string{"model_version:fraud@v2", "change:c-v2", "service:model-server"},
			wantChange: "c-v2", wantFaultAt: 40 * BucketNanos},
		{name: "version that served everything singles nothing out", in: only,
			wantIDs:    []string{"service:model-server", "change:c-v2"},
			wantChange: "c-v2", wantFaultAt: 40 * BucketNanos},
		{name: "no symptom data", in: empty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Analyze(tt.in)
			var ids []string
			for i, c := range res.Causes {
				ids = append(ids, c.ID)
				if c.Rank != i+1 {
					t.Errorf("cause %s rank %d, want %d", c.ID, c.Rank, i+1)
				}
			}
			if strings.Join(ids, ",") != strings.Join(tt.wantIDs, ",") {
				t.Fatalf("causes = %v, want %v", ids, tt.wantIDs)
			}
			if len(res.Causes) > 0 && res.Causes[0].ChangeID != tt.wantChange {
				t.Errorf("top change = %q, want %q", res.Causes[0].ChangeID, tt.wantChange)
			}
			if res.FaultStartedUnixNano != tt.wantFaultAt {
				t.Errorf("fault started = %d, want %d", res.FaultStartedUnixNano, tt.wantFaultAt)
			}
		})
	}
}

// The service that served missing data outranks the one that failed on it.
func TestMissingDataOutranksVictim(t *testing.T) {
	in := badVersion()
	in.Changes = nil
	in.Candidates = []Candidate{
		{Kind: events.CauseService, ID: "service:feature-service", Service: "feature-service", Specificity: 1,
			Signals: []Signal{{Name: "self_errors", X: Series{}, Weight: WeightService},
				{Name: "missing_data", X: step(60, 40, 0, 0.345), Weight: WeightServiceData}}},
		{Kind: events.CauseService, ID: "service:model-server", Service: "model-server", Specificity: 1,
			Signals: []Signal{{Name: "self_errors", X: step(60, 40, 0.005, 0.35), Weight: WeightService}}},
	}
	res := Analyze(in)
	if len(res.Causes) != 2 || res.Causes[0].ID != "service:feature-service" {
		t.Fatalf("causes = %+v, want feature-service first", res.Causes)
	}
	top := res.Causes[0]
	if top.Evidence["weight"] != WeightServiceData || !strings.Contains(top.Summary, "missing data") {
		t.Errorf("top evidence %v, summary %q: want the missing-data signal", top.Evidence, top.Summary)
	}
}

func TestSummary(t *testing.T) {
	res := Analyze(badVersion())
	got := res.Causes[0].Summary
	want := "model fraud@v2 explains 100% of the excess prediction.error; deployed 2s before the symptom"
	if got != want {
		t.Fatalf("summary = %q, want %q", got, want)
	}
}
