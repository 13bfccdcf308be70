package engine_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/services/rca/internal/engine"
	"github.com/medic-sre/medic/services/rca/internal/query"
	"github.com/medic-sre/medic/services/rca/internal/synthtest"
)

// Issue #5, defect 5: a slow dependency starts 1.5 s after a bad deploy and
// its latency joins the incident. The update's analysis covers the joining
// anomaly alone and finds its own cause, dated by its onset in the data.
func TestUpdateAnalysesTheJoiningSymptom(t *testing.T) {
	sc := synthtest.Scenario{Fault: synthtest.BadModelVersion, FaultAt: time.Now().Add(-30 * time.Second), Baseline: 3 * time.Minute,
		FaultFor: 30 * time.Second, RPS: 50, Seed: 3, Second: synthtest.SlowDependency}
	sc.SecondAt = sc.FaultAt.Add(1500 * time.Millisecond)
	data, err := synthtest.Generate(sc)
	if err != nil {
		t.Fatal(err)
	}
	st := storetest.New(t)
	if err := data.Insert(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	eng := engine.New(query.New(st.Conn()), engine.DefaultConfig)
	now := sc.FaultAt.Add(sc.FaultFor)
	inc := synthtest.Incident(sc, "inc-2", "prediction.error", "model-server")
	slow := sc.SecondAt.Add(3 * time.Second).UnixNano()
	added := events.AnomalyRef{AnomalyID: "a-latency", Rule: "latency-high", Metric: "request.latency_ms", Value: 420,
		StartedUnixNano: slow, DetectedUnixNano: slow + int64(5*time.Second), Service: "gateway", Model: synthtest.Model}
	up := events.IncidentUpdated{IncidentOpened: inc, AddedAnomalyIDs: []string{added.AnomalyID}, UpdatedUnixNano: now.UnixNano()}
	up.Anomalies = append(slices.Clone(inc.Anomalies), added)

	tests := []struct {
		name        string
		task        engine.Task
		wantTrigger string
		wantIDs     []string
		wantTop     string
		wantSource  string
		wantFault   time.Time
	}{
		{name: "opening blames the deploy", task: engine.OpenedTask("ev-open", inc), wantTrigger: events.TriggerOpened,
			wantIDs: []string{"a-inc-2"}, wantTop: "model_version:fraud@v2", wantSource: events.FaultStartChange, wantFault: sc.FaultAt},
		{name: "update blames the slow dependency", task: engine.UpdatedTask("ev-update", up), wantTrigger: events.TriggerUpdated,
			wantIDs: []string{"a-latency"}, wantTop: "service:feature-service", wantSource: events.FaultStartSymptomOnset, wantFault: sc.SecondAt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := analyzeTask(eng, tt.task, now)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range got.Causes {
				t.Logf("#%d %-28s %.3f %s", c.Rank, c.ID, c.Score, c.Summary)
			}
			t.Logf("confidence %.3f tie %v baseline %+v", got.Confidence, got.Tie, got.Baseline)
			if got.AnalysisID != tt.task.AnalysisID || got.Trigger != tt.wantTrigger || !slices.Equal(got.AnomalyIDs, tt.wantIDs) {
				t.Errorf("analysis %s trigger %s anomalies %v, want %s %s %v", got.AnalysisID, got.Trigger, got.AnomalyIDs,
					tt.task.AnalysisID, tt.wantTrigger, tt.wantIDs)
			}
			if len(got.Causes) == 0 || got.Causes[0].ID != tt.wantTop || got.Tie {
				t.Fatalf("causes = %+v, want %s alone at rank 1", got.Causes, tt.wantTop)
			}
			off := time.Duration(got.FaultStartedUnixNano - tt.wantFault.UnixNano())
			if got.FaultStartSource != tt.wantSource || off < -time.Second || off > time.Second {
				t.Errorf("fault start %v from %v (%s), want within 1s (%s)", off, tt.wantFault, got.FaultStartSource, tt.wantSource)
			}
		})
	}
}
