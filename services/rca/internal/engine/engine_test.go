package engine_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/store"
	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/services/rca/internal/engine"
	"github.com/medic-sre/medic/services/rca/internal/query"
	"github.com/medic-sre/medic/services/rca/internal/synthtest"
	"gopkg.in/yaml.v3"
)

type scenario struct {
	Name       string `yaml:"name"`
	Fault      string `yaml:"fault"`
	Counters   bool   `yaml:"counters"`
	Metric     string `yaml:"metric"`
	Service    string `yaml:"service"`
	WantTop    string `yaml:"want_top"`
	WantChange string `yaml:"want_change"`
}

func loadScenarios(t *testing.T) []scenario {
	t.Helper()
	raw, err := os.ReadFile("testdata/scenarios.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var out []scenario
	if err := yaml.Unmarshal(raw, &out); err != nil {
		t.Fatalf("testdata/scenarios.yaml: %v", err)
	}
	return out
}

// simulate fills a fresh database with a fault that began 30 s before now,
// its metrics as points per request or, with counters, as counter rates.
func simulate(tb testing.TB, fault string, counters bool) (*store.Store, synthtest.Scenario, synthtest.Data) {
	tb.Helper()
	sc := synthtest.Scenario{Fault: fault, FaultAt: time.Now().Add(-30 * time.Second), Baseline: 3 * time.Minute,
		FaultFor: 30 * time.Second, RPS: 50, Seed: 7, NullProb: 0.4, Counters: counters}
	data, err := synthtest.Generate(sc)
	if err != nil {
		tb.Fatal(err)
	}
	st := storetest.New(tb)
	if err := data.Insert(context.Background(), st); err != nil {
		tb.Fatal(err)
	}
	return st, sc, data
}

func TestAnalyzeSimulatedFaults(t *testing.T) {
	type world struct {
		st   *store.Store
		sc   synthtest.Scenario
		data synthtest.Data
	}
	type kind struct {
		fault    string
		counters bool
	}
	worlds := map[kind]world{}
	for _, tt := range loadScenarios(t) {
		k := kind{tt.Fault, tt.Counters}
		w, ok := worlds[k]
		if !ok {
			// One database per fault and form of metrics, owned by the
			// parent test, serves every scenario of that fault.
			w.st, w.sc, w.data = simulate(t, tt.Fault, tt.Counters)
			worlds[k] = w
		}
		t.Run(tt.Name, func(t *testing.T) {
			eng := engine.New(query.New(w.st.Conn()), engine.DefaultConfig)
			inc := synthtest.Incident(w.sc, "inc-1", tt.Metric, tt.Service)
			got, err := analyzeTask(eng, engine.OpenedTask("ev-1", inc), w.sc.FaultAt.Add(w.sc.FaultFor))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := events.NewWithID("x", "test", got); err != nil {
				t.Fatalf("result does not validate against its schema: %v", err)
			}
			for _, c := range got.Causes {
				t.Logf("#%d %-28s %.3f %s", c.Rank, c.ID, c.Score, c.Summary)
			}
			t.Logf("confidence %.3f, fault start %s", got.Confidence, got.FaultStartSource)
			checkTop(t, got, tt)
			checkFaultStart(t, got, tt, w.sc, inc)
		})
	}
}

// topMargin is the most the runner-up may score, as a share of the top
// cause's score. A top cause that wins only by a tie-break on its ID, or by
// the proximity of a change made minutes earlier, is not a finding; a change
// scores at most 0.9 of what it broke, so a real top cause clears this.
const topMargin = 0.95

func checkTop(t *testing.T, got events.RCACompleted, tt scenario) {
	t.Helper()
	if tt.WantTop == "" {
		if len(got.Causes) != 0 {
			t.Fatalf("causes = %v, want none", got.Causes)
		}
		return
	}
	if len(got.Causes) == 0 || got.Causes[0].ID != tt.WantTop {
		t.Fatalf("top cause = %+v, want %s", got.Causes, tt.WantTop)
	}
	top := got.Causes[0]
	if len(got.Causes) > 1 && got.Causes[1].Score > topMargin*top.Score {
		t.Errorf("top cause %s (%.3f) barely beats %s (%.3f): want the runner-up at most %.0f%% of it",
			top.ID, top.Score, got.Causes[1].ID, got.Causes[1].Score, topMargin*100)
	}
	for _, k := range []string{"corr", "lift", "explained", "proximity"} {
		if _, ok := top.Evidence[k]; !ok {
			t.Errorf("evidence lacks %q: %v", k, top.Evidence)
		}
	}
	if top.ChangeID != tt.WantChange {
		t.Errorf("top change = %q, want %q", top.ChangeID, tt.WantChange)
	}
	if !got.Baseline.Sufficient || got.Tie || got.Confidence <= 0 {
		t.Errorf("baseline %+v, tie %v, confidence %v: want a sufficient baseline, no tie and some confidence",
			got.Baseline, got.Tie, got.Confidence)
	}
}

// checkFaultStart wants the change's time when a change explains the
// incident, else the symptom's onset in the data, within a second of the
// fault, or with no data the anomaly's own start.
func checkFaultStart(t *testing.T, got events.RCACompleted, tt scenario, sc synthtest.Scenario, inc events.IncidentOpened) {
	t.Helper()
	switch {
	case tt.WantChange != "":
		if got.FaultStartSource != events.FaultStartChange || got.FaultStartedUnixNano != sc.FaultAt.UnixNano() {
			t.Errorf("fault start %d (%s), want the deploy's time %d (change)", got.FaultStartedUnixNano, got.FaultStartSource, sc.FaultAt.UnixNano())
		}
	case tt.WantTop == "":
		if got.FaultStartSource != events.FaultStartSymptomOnset || got.FaultStartedUnixNano != inc.Anomalies[0].StartedUnixNano {
			t.Errorf("fault start %d (%s), want the anomaly's start %d (symptom_onset)", got.FaultStartedUnixNano, got.FaultStartSource, inc.Anomalies[0].StartedUnixNano)
		}
	default:
		off := time.Duration(got.FaultStartedUnixNano - sc.FaultAt.UnixNano())
		if got.FaultStartSource != events.FaultStartSymptomOnset || off < -time.Second || off > time.Second {
			t.Errorf("fault start %v from the fault (%s), want within 1s by symptom_onset", off, got.FaultStartSource)
		}
	}
}

func BenchmarkAnalyze(b *testing.B) {
	st, sc, _ := simulate(b, synthtest.BadModelVersion, false)
	eng := engine.New(query.New(st.Conn()), engine.DefaultConfig)
	inc := synthtest.Incident(sc, "inc-bench", "prediction.error", "model-server")
	now := sc.FaultAt.Add(sc.FaultFor)
	b.ResetTimer()
	for b.Loop() {
		if _, err := analyzeTask(eng, engine.OpenedTask("ev-bench", inc), now); err != nil {
			b.Fatal(err)
		}
	}
}

// analyzeTask runs the analysis an incident's task asks for, as of now, as
// the service does.
func analyzeTask(eng *engine.Engine, t engine.Task, now time.Time) (events.RCACompleted, error) {
	req, err := eng.IncidentRequest(t, now)
	if err != nil {
		return events.RCACompleted{}, err
	}
	res, err := eng.Analyze(context.Background(), req)
	return res.RCACompleted, err
}
