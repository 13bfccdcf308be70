package demo_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/services/medic/internal/demo"
	"github.com/medic-sre/medic/services/medic/internal/stack"
)

// rightCause says whether a rank-1 cause is a true cause of a scenario.
type rightCause func(events.Cause) bool

func badModel(c events.Cause) bool {
	return c.Kind == events.CauseModelVersion && c.ModelVersion == "v2" ||
		c.Kind == events.CauseChange && c.ModelVersion == "v2"
}

func featureService(c events.Cause) bool {
	return c.Service == "feature-service" || c.ID == "feature-service" || c.Kind == events.CauseFeature
}

// notConfident are the escalations in which Medic says it is not sure of
// the cause, rather than that it knows no fix.
var notConfident = []string{events.EscalationLowConfidence, events.EscalationTiedCauses, events.EscalationThinBaseline, events.EscalationLowMargin}

// TestScenarios plays faults the demo does not, each on a fresh stack, with
// the demo's baseline and with a 60 s one. Medic must name a true cause
// first or say it is not confident, and never act on a wrong cause.
func TestScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end scenarios; drop -short to run them")
	}
	bins := binaries(t)
	scenarios := []struct {
		name   string
		faults []demo.Fault
		right  rightCause
		check  func(t *testing.T, res demo.Result)
	}{
		{name: "feature nulls", faults: []demo.Fault{{Kind: "feature_nulls"}}, right: featureService,
			check: wantIncident},
		{name: "slow dependency", faults: []demo.Fault{{Kind: "slow_dependency"}}, right: featureService,
			check: wantIncident},
		{name: "1s blip", faults: []demo.Fault{{Kind: "feature_nulls", Duration: time.Second}}, right: func(events.Cause) bool { return false },
			check: func(t *testing.T, res demo.Result) {
				if len(res.IncidentsOpened) != 0 {
					t.Errorf("a 1 s blip opened incidents %v; `for` must hold in the data", res.IncidentsOpened)
				}
			}},
		{name: "bad model plus slow dependency",
			faults: []demo.Fault{{Kind: "bad_model_version"}, {Kind: "slow_dependency", After: 1500 * time.Millisecond}},
			right:  func(c events.Cause) bool { return badModel(c) || featureService(c) },
			check: func(t *testing.T, res demo.Result) {
				wantIncident(t, res)
				rolledBack := false
				for _, o := range res.Outcomes {
					rolledBack = rolledBack || o.Outcome == "succeeded" && strings.Contains(o.CauseID, "v2")
				}
				if !rolledBack {
					t.Errorf("the bad model version was not rolled back: outcomes %+v", res.Outcomes)
				}
				if !analysed(res, "feature-service") {
					t.Errorf("the slow dependency's anomaly was never analysed: analyses %+v", res.Analyses)
				}
			}},
	}
	for _, sc := range scenarios {
		for _, baseline := range []time.Duration{demo.DefaultBaseline, 60 * time.Second} {
			t.Run(fmt.Sprintf("%s/baseline %s", sc.name, baseline), func(t *testing.T) {
				t.Parallel()
				res, posts := play(t, bins, baseline, sc.faults)
				checkNoWrongAction(t, res, sc.right)
				checkPaged(t, res, posts)
				sc.check(t, res)
			})
		}
	}
}

// play runs one scenario on a fresh stack and returns what Medic did and
// what the notifier posted to the webhook.
func play(t *testing.T, bins string, baseline time.Duration, faults []demo.Fault) (demo.Result, []map[string]any) {
	t.Helper()
	s := storetest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), baseline+8*time.Minute)
	defer cancel()
	work := t.TempDir()
	sink := startSink(t)
	// Half the simulator's default rate: eight full stacks writing spans
	// and logs into one ClickHouse on two cores, beside the reliability
	// and RCA suites, drove the load average past 60 in a full `make
	// test`. Metric points do not depend on it (the SDK exports every
	// 500 ms); `medic demo` itself keeps the default.
	st, err := stack.Start(ctx, stack.Config{BinDir: bins, WorkDir: work, ClickHouseAddr: storetest.Addr(),
		Database: s.Database(), Progress: stack.LogTo(t), WebhookURL: sink.URL, WebhookSecret: sink.Secret,
		Env: []string{"SIM_RPS=25"}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := st.Stop(); err != nil {
			t.Errorf("graceful stop: %v", err)
		}
		if t.Failed() {
			t.Log(stack.LogTails(work, 40))
		}
	}()
	res, err := demo.Play(ctx, st, s.Conn(), demo.Options{Baseline: baseline, Timeout: 240 * time.Second, Out: stack.LogTo(t)}, faults, 25*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if res.TimedOut {
		t.Errorf("the scenario did not settle: analyses %d, remediations %d, escalations %d, incidents %v resolved %v",
			len(res.Analyses), len(res.Remediations), len(res.Escalations), res.IncidentsOpened, res.ResolvedIncidents)
	}
	// The pages for the escalations and failures may trail the events.
	var posts []map[string]any
	servicetest.PollFor(t, "a page for every escalation and failure", time.Minute, func() bool {
		posts = webhookPosts(t, sink)
		return len(unpaged(res, posts)) == 0
	})
	return res, posts
}

// checkPaged asserts that every escalation and failed remediation paged.
func checkPaged(t *testing.T, res demo.Result, posts []map[string]any) {
	t.Helper()
	if missing := unpaged(res, posts); len(missing) > 0 {
		t.Errorf("no page for %v (posts: %v)", missing, posts)
	}
}

// unpaged lists the escalations and failures with no page posted.
func unpaged(res demo.Result, posts []map[string]any) []string {
	paged := func(about, incident string) bool {
		for _, p := range posts {
			if p["about"] == about && p["incident_id"] == incident && p["urgency"] == "page" {
				return true
			}
		}
		return false
	}
	var missing []string
	for _, e := range res.Escalations {
		if !paged("remediation.escalated", e.IncidentID) {
			missing = append(missing, "escalation "+e.EscalationID)
		}
	}
	for _, o := range res.Outcomes {
		if o.Outcome == "failed" && !paged("remediation.failed", o.IncidentID) {
			missing = append(missing, "failed remediation "+o.ExecutionID)
		}
	}
	return missing
}

// checkNoWrongAction asserts that every analysis named a true cause first,
// or came with an escalation saying Medic was not confident, and that no
// remediation ran on a cause that is not true.
func checkNoWrongAction(t *testing.T, res demo.Result, right rightCause) {
	t.Helper()
	for _, r := range res.Remediations {
		cause := causeOf(res, r)
		if cause == nil || !right(*cause) {
			t.Errorf("remediation %s (runbook %s) acted on cause %s, which is not a cause of this scenario", r.ExecutionID, r.Runbook, r.CauseID)
		}
	}
	for _, a := range res.Analyses {
		if len(a.Causes) > 0 && right(a.Causes[0]) {
			continue
		}
		if !escalatedAsNotConfident(res, a.AnalysisID) {
			top := "no cause"
			if len(a.Causes) > 0 {
				top = a.Causes[0].ID
			}
			t.Errorf("analysis %s (%s, confidence %.2f) ranked %s first, a wrong cause, without escalating as not confident",
				a.AnalysisID, a.Trigger, a.Confidence, top)
		}
	}
}

// causeOf finds the rank-1 cause a remediation acted on.
func causeOf(res demo.Result, r events.Remediation) *events.Cause {
	for _, a := range res.Analyses {
		if a.IncidentID == r.IncidentID && len(a.Causes) > 0 && a.Causes[0].ID == r.CauseID {
			return &a.Causes[0]
		}
	}
	return nil
}

func escalatedAsNotConfident(res demo.Result, analysisID string) bool {
	for _, e := range res.Escalations {
		if e.AnalysisID != analysisID {
			continue
		}
		for _, reason := range notConfident {
			if e.Reason == reason {
				return true
			}
		}
	}
	return false
}

// analysed reports whether an analysis covered an anomaly of service.
func analysed(res demo.Result, service string) bool {
	for _, a := range res.Analyses {
		for _, id := range a.AnomalyIDs {
			if res.Anomalies[id].Service == service {
				return true
			}
		}
	}
	return false
}

// wantIncident asserts that the fault opened an incident, that it was
// acted on or escalated, and that it resolved once the fault was cleared.
func wantIncident(t *testing.T, res demo.Result) {
	t.Helper()
	if len(res.IncidentsOpened) == 0 {
		t.Fatal("the fault opened no incident")
	}
	if len(res.Analyses) == 0 {
		t.Fatalf("incidents %v were never analysed", res.IncidentsOpened)
	}
	if len(res.Remediations) == 0 && len(res.Escalations) == 0 {
		t.Errorf("no remediation and no escalation for incidents %v", res.IncidentsOpened)
	}
	for _, id := range res.IncidentsOpened {
		found := false
		for _, r := range res.ResolvedIncidents {
			found = found || r == id
		}
		if !found {
			t.Errorf("incident %s did not resolve after the fault was cleared", id)
		}
	}
}
