package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/services/rca/internal/engine"
	"github.com/medic-sre/medic/services/rca/internal/query"
	"github.com/medic-sre/medic/services/rca/internal/synthtest"
)

// A bad model version after too little history (issue #5, defect 3) is
// analysed with a baseline that says it lacks data and a confidence no gate
// acts on; after a minute of history, the same fault is found with
// confidence. The incident window opens 15 s (the lead) before the symptom,
// so the baseline holds history minus about 12 s.
func TestBaselineSufficiency(t *testing.T) {
	tests := []struct {
		name           string
		history        time.Duration
		wantSufficient bool
		wantDetail     string
		minConf        float64
		maxConf        float64
	}{
		{name: "10 s of history: empty baseline", history: 10 * time.Second, wantDetail: "baseline empty", maxConf: 0.25},
		{name: "35 s of history: thin baseline", history: 35 * time.Second, wantDetail: "baseline thin", maxConf: 0.25},
		{name: "60 s of history", history: 60 * time.Second, wantSufficient: true, minConf: 0.6, maxConf: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := synthtest.Scenario{Fault: synthtest.BadModelVersion, FaultAt: time.Now().Add(-30 * time.Second), Baseline: tt.history,
				FaultFor: 30 * time.Second, RPS: 50, Seed: 5}
			data, err := synthtest.Generate(sc)
			if err != nil {
				t.Fatal(err)
			}
			st := storetest.New(t)
			if err := data.Insert(context.Background(), st); err != nil {
				t.Fatal(err)
			}
			eng := engine.New(query.New(st.Conn()), engine.DefaultConfig)
			inc := synthtest.Incident(sc, "inc-thin", "prediction.error", "model-server")
			got, err := analyzeTask(eng, engine.OpenedTask("ev-thin", inc), sc.FaultAt.Add(sc.FaultFor))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := events.NewWithID("x", "test", got); err != nil {
				t.Fatalf("result does not validate against its schema: %v", err)
			}
			for _, c := range got.Causes {
				t.Logf("#%d %-28s %.3f %s", c.Rank, c.ID, c.Score, c.Summary)
			}
			t.Logf("baseline %+v confidence %.3f tie %v", got.Baseline, got.Confidence, got.Tie)
			if got.Baseline.Sufficient != tt.wantSufficient || !strings.Contains(got.Baseline.Detail, tt.wantDetail) {
				t.Errorf("baseline = %+v, want sufficient %v with %q", got.Baseline, tt.wantSufficient, tt.wantDetail)
			}
			if got.Confidence < tt.minConf || got.Confidence > tt.maxConf {
				t.Errorf("confidence = %.3f, want in [%v, %v]", got.Confidence, tt.minConf, tt.maxConf)
			}
			for _, c := range got.Causes {
				if got.Baseline.Seconds == 0 && strings.Contains(c.Summary, "explains") {
					t.Errorf("%s claims %q with an empty baseline", c.ID, c.Summary)
				}
			}
			if tt.wantSufficient && (len(got.Causes) == 0 || got.Causes[0].ID != "model_version:fraud@v2" || got.Tie) {
				t.Errorf("causes = %+v, want v2 alone at rank 1", got.Causes)
			}
		})
	}
}
