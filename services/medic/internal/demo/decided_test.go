package demo

import (
	"testing"

	"github.com/medic-sre/medic/pkg/events"
)

// A scenario is decided only once every trigger has its analysis: an
// update whose analysis is still running keeps it open, even when every
// analysis seen so far was acted on (seen in CI under load: the faults were
// cleared, the incident resolved, and the slow dependency's analysis never
// came).
func TestDecidedWaitsForEveryTriggersAnalysis(t *testing.T) {
	var res Result
	describe(events.IncidentOpened{IncidentID: "inc", Anomalies: []events.AnomalyRef{{AnomalyID: "errors"}}}, &res)
	describe(events.IncidentUpdated{IncidentOpened: events.IncidentOpened{IncidentID: "inc"}, AddedAnomalyIDs: []string{"latency"}}, &res)
	cause := events.Cause{ID: "model_version:fraud@v2"}
	describe(events.RCACompleted{AnalysisID: "a1", Trigger: events.TriggerOpened, IncidentID: "inc",
		AnomalyIDs: []string{"errors"}, Causes: []events.Cause{cause}}, &res)
	res.Outcomes = append(res.Outcomes, outcome{events.Remediation{IncidentID: "inc", CauseID: cause.ID}, "succeeded"})
	if decided(&res) {
		t.Fatal("decided while the update's analysis is still running")
	}
	describe(events.RCACompleted{AnalysisID: "a2", Trigger: events.TriggerUpdated, IncidentID: "inc",
		AnomalyIDs: []string{"latency"}, Causes: []events.Cause{cause}}, &res)
	if !decided(&res) {
		t.Fatal("not decided once every trigger's analysis was acted on")
	}
}
