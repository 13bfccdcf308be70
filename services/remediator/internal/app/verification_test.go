package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/medic-sre/medic/services/remediator/internal/remediate"
)

// An analysis the remediator cannot verify against its own incident view
// is refused to the dead-letter stream with the reason, and nothing is
// called; a genuine one in the same run still remediates.
func TestUnverifiableAnalysisIsRefused(t *testing.T) {
	tests := []struct {
		name    string
		forge   func(t *testing.T, h *harness) events.RCACompleted
		wantWhy string
	}{
		{name: "incident never existed", wantWhy: "does not exist",
			forge: func(*testing.T, *harness) events.RCACompleted {
				return rcaCompleted("inc-forged-"+uuid.NewString(), slowServer, "an-x")
			}},
		{name: "anomaly of another incident", wantWhy: "anomalies an-other of analysis",
			forge: func(t *testing.T, h *harness) events.RCACompleted {
				return rcaCompleted(h.open(t, time.Now().Add(-time.Minute), "an-1"), slowServer, "an-1", "an-other")
			}},
		{name: "incident already resolved", wantWhy: "was resolved at",
			forge: func(t *testing.T, h *harness) events.RCACompleted {
				id := h.open(t, time.Now().Add(-time.Minute), "an-1")
				h.resolve(t, id)
				servicetest.WaitConsumed(t, h.js, "MEDIC_EVENTS", "remediator-incidents")
				return rcaCompleted(id, slowServer, "an-1")
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, false)
			ctx := context.Background()
			forged := tc.forge(t, h)
			if _, err := h.pub.Emit(ctx, uuid.NewString(), forged); err != nil {
				t.Fatal(err)
			}
			var reasons []string
			servicetest.Poll(t, "a dead letter", func() bool {
				reasons = h.deadLetters(t, "remediator")
				return len(reasons) > 0
			})
			if len(reasons) != 1 || !strings.Contains(reasons[0], "analysis refused") || !strings.Contains(reasons[0], tc.wantWhy) {
				t.Fatalf("dead-letter reasons %q, want one naming %q", reasons, tc.wantWhy)
			}
			if n := len(h.serving.Calls()); n != 0 {
				t.Fatalf("the serving system got %d calls for an unverifiable analysis", n)
			}
			if evs := h.readEvents(t, "medic.events.remediation.>"); len(evs) != 0 {
				t.Fatalf("%d remediation events for an unverifiable analysis, want none", len(evs))
			}

			// A genuine analysis still remediates.
			id := h.open(t, time.Now().Add(-time.Minute), "an-1")
			if _, err := h.pub.Emit(ctx, uuid.NewString(), rcaCompleted(id, slowServer, "an-1")); err != nil {
				t.Fatal(err)
			}
			<-h.serving.first
			h.waitDrained(t)
			checkCalls(t, h.serving.Calls(), 1, remediate.ExecutionID(id, slowServer), failover)
		})
	}
}

// The fail-over runbook acts only on an incident firing for 3s: a blip that
// resolves sooner gets no action, one that persists gets it after 3s.
func TestPersistenceMinimum(t *testing.T) {
	tests := []struct {
		name      string
		resolves  bool
		wantCalls int
	}{
		{name: "blip resolves first", resolves: true},
		{name: "incident persists", wantCalls: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, false)
			detected := time.Now()
			id := h.open(t, detected, "an-1")
			if _, err := h.pub.Emit(context.Background(), uuid.NewString(), rcaCompleted(id, slowServer, "an-1")); err != nil {
				t.Fatal(err)
			}
			servicetest.Poll(t, "the analysis to be deferred", func() bool {
				c, err := h.js.Consumer(context.Background(), "MEDIC_EVENTS", "remediator")
				if err != nil {
					return false
				}
				info, err := c.Info(context.Background())
				return err == nil && info.NumRedelivered > 0
			})
			if n := len(h.serving.Calls()); n != 0 || time.Since(detected) >= 3*time.Second {
				t.Fatalf("%d calls %s after detection: acted before the minimum, or the machine is too slow to tell", n, time.Since(detected))
			}
			if tc.resolves {
				h.resolve(t, id)
			}
			h.waitDrained(t)
			calls := h.serving.Calls()
			checkCalls(t, calls, tc.wantCalls, remediate.ExecutionID(id, slowServer), failover)
			if tc.wantCalls > 0 && time.Since(detected) < 3*time.Second {
				t.Fatalf("acted %s after detection, before min_duration", time.Since(detected))
			}
			if len(h.deadLetters(t, "remediator")) != 0 {
				t.Fatal("a deferred analysis was dead-lettered")
			}
		})
	}
}

// A fresh analysis (anomalies joined) whose rank-1 cause differs runs that
// cause's runbook; one that names a cause already remediated runs nothing.
func TestFreshAnalysisOfANewCause(t *testing.T) {
	h := start(t, true)
	ctx := context.Background()
	id := h.open(t, time.Now().Add(-time.Minute), "an-1")
	first := rcaCompleted(id, badVersion, "an-1")
	if _, err := h.pub.Emit(ctx, uuid.NewString(), first); err != nil {
		t.Fatal(err)
	}
	h.waitDrained(t)
	base := events.IncidentOpened{IncidentID: id, GroupKey: "model-server/fraud", Title: "t", Severity: events.SeverityCritical,
		StartedUnixNano: 1, DetectedUnixNano: 1, OpenedUnixNano: 1,
		Anomalies: []events.AnomalyRef{{AnomalyID: "an-2", Rule: "latency-high", Metric: "latency", Service: "model-server"}}}
	upd := events.IncidentUpdated{IncidentOpened: base, AddedAnomalyIDs: []string{"an-2"}, UpdatedUnixNano: time.Now().UnixNano()}
	if _, err := h.pub.Emit(ctx, uuid.NewString(), upd); err != nil {
		t.Fatal(err)
	}
	for _, cause := range []events.Cause{slowServer, slowServer, badVersion} {
		again := rcaCompleted(id, cause, "an-1", "an-2")
		again.Trigger = events.TriggerUpdated
		if _, err := h.pub.Emit(ctx, uuid.NewString(), again); err != nil {
			t.Fatal(err)
		}
	}
	h.waitDrained(t)
	started := map[string]string{}
	for _, ev := range h.readEvents(t, events.Subject(events.TypeRemediationStarted)) {
		rem := servicetest.As[events.RemediationStarted](t, ev)
		started[rem.ExecutionID] = rem.Runbook
	}
	want := map[string]string{remediate.ExecutionID(id, badVersion): "rollback-bad-model-version",
		remediate.ExecutionID(id, slowServer): "fail-over-to-backup-model"}
	if len(started) != 2 || started[remediate.ExecutionID(id, badVersion)] != want[remediate.ExecutionID(id, badVersion)] ||
		started[remediate.ExecutionID(id, slowServer)] != want[remediate.ExecutionID(id, slowServer)] {
		t.Fatalf("executions %v, want %v", started, want)
	}
}
