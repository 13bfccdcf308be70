package app_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"
	"github.com/medic-sre/medic/pkg/archive"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/medic-sre/medic/pkg/store"
	"github.com/medic-sre/medic/services/remediator/internal/action"
	"github.com/medic-sre/medic/services/remediator/internal/remediate"
)

// emit writes prediction.error points of value v, as the watched system
// would, until stop is called.
func emit(t *testing.T, st *store.Store, v float64) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			insertPoints(ctx, t, st, v, 5)
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
	return func() { cancel(); wg.Wait() }
}

func insertPoints(ctx context.Context, t *testing.T, st *store.Store, v float64, n int) {
	now := time.Now()
	id := uuid.NewString()
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = []any{now, now.UnixNano() + int64(i), "prediction.error", v, "model-server", "fraud", "v1",
			[]string{}, []string{}, id, uint32(i)}
	}
	if err := st.Insert(ctx, "metrics", archive.MetricColumns, rows); err != nil && ctx.Err() == nil {
		t.Errorf("insert points: %v", err)
	}
}

// rcaCompleted is a confident analysis of the incident's anomalies naming
// cause alone.
func rcaCompleted(incident string, cause events.Cause, anomalies ...string) events.RCACompleted {
	now := time.Now().UnixNano()
	return events.RCACompleted{IncidentID: incident, AnalysisID: "an-" + uuid.NewString(), Trigger: events.TriggerOpened,
		AnomalyIDs: anomalies, Confidence: 0.9, Baseline: events.Baseline{Seconds: 300, Points: 300, Sufficient: true},
		Symptom: "prediction.error", Causes: []events.Cause{cause},
		WindowStartUnixNano: now - 1e10, WindowEndUnixNano: now, AnalyzedUnixNano: now}
}

var (
	badVersion = events.Cause{Rank: 1, Kind: events.CauseModelVersion, ID: "fraud@v2", Score: 0.9,
		Service: "model-server", Model: "fraud", ModelVersion: "v2"}
	slowServer = events.Cause{Rank: 1, Kind: events.CauseService, ID: "model-server", Score: 0.8, Service: "model-server", Model: "fraud"}
	// modelServer is a service cause as the analysis ranks one today: it
	// names no model, so the fail-over runbook must not guess one.
	modelServer = events.Cause{Rank: 1, Kind: events.CauseService, ID: "model-server", Score: 0.8, Service: "model-server"}
	rollback    = "/v1/models/fraud/rollback"
	failover    = "/v1/models/fraud/failover"
)

func TestRemediation(t *testing.T) {
	tests := []struct {
		name      string
		cause     events.Cause
		change    func(*events.RCACompleted)
		dryRun    bool
		recovers  bool
		want      string // outcome event type; empty: nothing published
		wantCalls int
		wantError string
		escalated string // the escalation reason, when the incident goes to people
		detail    string
	}{
		{name: "rollback and recovery", cause: badVersion, recovers: true, want: events.TypeRemediationSucceeded, wantCalls: 1},
		{name: "no recovery", cause: badVersion, want: events.TypeRemediationFailed, wantCalls: 1,
			wantError: "verify: system did not recover: prediction.error avg 0.5 still above 0.05 after 3s (last of "},
		{name: "dry run calls nothing", cause: badVersion, dryRun: true, want: events.TypeRemediationSucceeded},
		{name: "no runbook fits", cause: events.Cause{Rank: 1, Kind: events.CauseFeature, ID: "amount", Score: 0.8},
			escalated: events.EscalationNoRunbook, detail: "no runbook fits the rank-1 cause feature amount"},
		{name: "service cause without a model", cause: modelServer,
			escalated: events.EscalationNoRunbook, detail: "no runbook fits the rank-1 cause service model-server"},
		{name: "low confidence", cause: badVersion, change: func(r *events.RCACompleted) { r.Confidence = 0.45 },
			escalated: events.EscalationLowConfidence, detail: "confidence 0.45 is below 0.6 for runbook rollback-bad-model-version (cause fraud@v2)"},
		{name: "tied causes", cause: badVersion, change: func(r *events.RCACompleted) {
			r.Tie = true
			r.Causes = append(r.Causes, slowServer)
			r.Causes[1].Score = r.Causes[0].Score
		}, escalated: events.EscalationTiedCauses},
		{name: "thin baseline", cause: badVersion, change: func(r *events.RCACompleted) { r.Baseline = events.Baseline{Points: 4, Seconds: 2} },
			escalated: events.EscalationThinBaseline, detail: "baseline too thin to compare against: 4 points over 2s"},
		{name: "low margin", cause: badVersion, change: func(r *events.RCACompleted) {
			second := slowServer
			second.Rank, second.Score = 2, 0.85
			r.Causes = append(r.Causes, second)
		}, escalated: events.EscalationLowMargin},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, tc.dryRun)
			ctx := context.Background()
			// Bad points before the rollback must not count towards recovery.
			insertPoints(ctx, t, h.st, 1, 20)
			value := 0.5
			if tc.recovers {
				value = 0.01
			}
			incident := h.open(t, time.Now().Add(-time.Minute), "an-1")
			rca := rcaCompleted(incident, tc.cause, "an-1")
			if tc.change != nil {
				tc.change(&rca)
			}
			if _, err := h.pub.Emit(ctx, uuid.NewString(), rca); err != nil {
				t.Fatal(err)
			}
			if tc.wantCalls > 0 {
				select {
				case <-h.serving.first:
				case <-time.After(30 * time.Second):
					t.Fatal("the serving system got no call")
				}
				stop := emit(t, h.st, value)
				defer stop()
			}
			execID := remediate.ExecutionID(incident, tc.cause)
			checkOutcome(t, h, tc.want, execID, tc.wantError, tc.dryRun)
			if tc.escalated != "" {
				checkEscalation(t, h, rca, tc.escalated, tc.detail)
			}
			checkCalls(t, h.serving.Calls(), tc.wantCalls, execID, rollback)

			// The same analysis again, under a new event id, must not run
			// the runbook (or escalate) again.
			if _, err := h.pub.Emit(ctx, uuid.NewString(), rca); err != nil {
				t.Fatal(err)
			}
			h.waitDrained(t)
			checkCalls(t, h.serving.Calls(), tc.wantCalls, execID, rollback)
			want := 2
			if tc.want == "" {
				want = 1
			}
			if n := len(h.readEvents(t, "medic.events.remediation.>")); n != want {
				t.Fatalf("%d remediation events after a repeat, want %d", n, want)
			}
		})
	}
}

// checkEscalation waits for the analysis's remediation.escalated and checks
// its reason and detail (when given).
func checkEscalation(t *testing.T, h *harness, rca events.RCACompleted, reason, detail string) {
	t.Helper()
	var evs []cloudevents.Event
	servicetest.Poll(t, "an escalation", func() bool {
		evs = h.readEvents(t, events.Subject(events.TypeRemediationEscalated))
		return len(evs) > 0
	})
	esc := servicetest.As[events.RemediationEscalated](t, evs[0])
	if len(evs) != 1 || esc.Reason != reason || (detail != "" && esc.Detail != detail) || esc.Detail == "" ||
		esc.IncidentID != rca.IncidentID || esc.AnalysisID != rca.AnalysisID || esc.EscalationID != remediate.EscalationID(rca.AnalysisID) {
		t.Fatalf("%d escalations, first %+v\nwant reason %s detail %q", len(evs), esc, reason, detail)
	}
}

// checkOutcome waits for the outcome and checks remediation.started came
// first, both for execID.
func checkOutcome(t *testing.T, h *harness, want, execID, wantError string, dryRun bool) {
	t.Helper()
	if want == "" {
		h.waitDrained(t)
		for _, typ := range []string{events.TypeRemediationStarted, events.TypeRemediationSucceeded, events.TypeRemediationFailed} {
			if evs := h.readEvents(t, events.Subject(typ)); len(evs) != 0 {
				t.Fatalf("published %d %s, want none", len(evs), typ)
			}
		}
		return
	}
	var evs []string
	servicetest.Poll(t, "a remediation outcome", func() bool {
		evs = nil
		for _, ev := range h.readEvents(t, "medic.events.remediation.>") {
			evs = append(evs, ev.Type())
		}
		return len(evs) >= 2
	})
	if evs[0] != events.TypeRemediationStarted || evs[1] != want {
		t.Fatalf("events %v, want started then %s", evs, want)
	}
	outcome := h.readEvents(t, events.Subject(want))[0]
	var rem events.Remediation
	if err := outcome.DataAs(&rem); err != nil {
		t.Fatal(err)
	}
	if rem.ExecutionID != execID || rem.Runbook != "rollback-bad-model-version" || rem.DryRun != dryRun || len(rem.Steps) != 1 {
		t.Fatalf("outcome %+v", rem)
	}
	if !strings.Contains(rem.Error, wantError) || (wantError == "" && rem.Error != "") {
		t.Fatalf("error %q, want it to contain %q", rem.Error, wantError)
	}
	if outcome.ID() != events.DerivedID(want, execID) {
		t.Fatalf("outcome id %s is not derived from the execution", outcome.ID())
	}
}

func checkCalls(t *testing.T, calls []call, want int, execID, path string) {
	t.Helper()
	if len(calls) != want {
		t.Fatalf("serving system got %d calls (%+v), want %d", len(calls), calls, want)
	}
	for _, c := range calls {
		w := call{Method: "POST", Path: path, Actor: action.Actor, Key: remediate.StepKey(execID, 0)}
		if c != w {
			t.Fatalf("call %+v, want %+v", c, w)
		}
	}
}
