package app_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/servicetest"
)

var sentSubject = events.Subject(events.TypeNotificationSent)

func incidentOpened(id string) events.IncidentOpened {
	now := time.Now().UnixNano()
	return events.IncidentOpened{IncidentID: id, GroupKey: "model=fraud", Title: "prediction.error high", Severity: events.SeverityCritical,
		StartedUnixNano: now - 2e9, DetectedUnixNano: now - 1e9, OpenedUnixNano: now,
		Anomalies: []events.AnomalyRef{{AnomalyID: "a1", Rule: "error-rate", Metric: "prediction.error", Service: "model-server"}}}
}

func incidentResolved(id string) events.IncidentTransition {
	now := time.Now().UnixNano()
	return events.IncidentTransition{Status: events.StatusResolved, IncidentID: id, Title: "prediction.error high",
		AtUnixNano: now, DetectedUnixNano: now - 30e9, ResolvedUnixNano: now,
		TopCause:    &events.Cause{Rank: 1, Kind: events.CauseModelVersion, ID: "fraud@v2", Score: 0.9},
		Remediation: &events.RemediationSummary{ExecutionID: "x1", Runbook: "rollback-bad-model-version", Outcome: "succeeded"}}
}

func remediationFailed(id string) events.RemediationFailed {
	now := time.Now().UnixNano()
	return events.RemediationFailed{Remediation: events.Remediation{ExecutionID: "x-" + id, IncidentID: id, Runbook: "rollback-bad-model-version",
		CauseID: "fraud@v2", Steps: []events.Step{{Name: "rollback", Action: "rollback_model", Status: "failed"}},
		Error: "verify: prediction.error 0.42 still above 0.05", StartedUnixNano: now - 60e9, FinishedUnixNano: now}}
}

func remediationEscalated(id string) events.RemediationEscalated {
	return events.RemediationEscalated{EscalationID: "e-" + id, IncidentID: id, Reason: events.EscalationNoRunbook,
		Detail: "no runbook matches cause feature:user_age", EscalatedUnixNano: time.Now().UnixNano(),
		Cause: &events.Cause{Rank: 1, Kind: events.CauseFeature, ID: "user_age", Score: 0.8}}
}

func TestNotifications(t *testing.T) {
	tests := []struct {
		name         string
		data         func(incident string) events.Data
		codes        []int
		secret       string
		wantPosts    int
		wantAttempts int // of the successful delivery; 0: none succeeds
	}{
		{name: "opened", data: func(i string) events.Data { return incidentOpened(i) }, codes: []int{200}, wantPosts: 1, wantAttempts: 1},
		{name: "resolved", data: func(i string) events.Data { return incidentResolved(i) }, codes: []int{202}, wantPosts: 1, wantAttempts: 1},
		{name: "signed", data: func(i string) events.Data { return incidentOpened(i) }, codes: []int{200}, secret: "hush", wantPosts: 1, wantAttempts: 1},
		{name: "5xx retried in the handler", data: func(i string) events.Data { return incidentOpened(i) }, codes: []int{500, 200}, wantPosts: 2, wantAttempts: 2},
		{name: "5xx retried by the bus", data: func(i string) events.Data { return incidentOpened(i) }, codes: []int{500, 503, 200}, wantPosts: 3, wantAttempts: 1},
		{name: "4xx dead-lettered", data: func(i string) events.Data { return incidentOpened(i) }, codes: []int{400}, wantPosts: 1},
		{name: "429 retried by the bus", data: func(i string) events.Data { return incidentOpened(i) }, codes: []int{429, 429, 200}, wantPosts: 3, wantAttempts: 1},
		{name: "remediation failed pages", data: func(i string) events.Data { return remediationFailed(i) }, codes: []int{200}, wantPosts: 1, wantAttempts: 1},
		{name: "escalation pages", data: func(i string) events.Data { return remediationEscalated(i) }, codes: []int{200}, wantPosts: 1, wantAttempts: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.secret, tc.codes)
			h.run(t)
			incident := "inc-" + uuid.NewString()
			ev, err := h.pub.Emit(context.Background(), uuid.NewString(), tc.data(incident))
			if err != nil {
				t.Fatal(err)
			}
			h.waitDrained(t)
			posts := h.recv.Posts()
			if len(posts) != tc.wantPosts {
				t.Fatalf("%d posts, want %d", len(posts), tc.wantPosts)
			}
			id := events.DerivedID("notification", ev.ID)
			for _, p := range posts {
				checkPost(t, p, ev.Type, incident, id, tc.secret)
			}
			if tc.wantAttempts == 0 {
				checkDeadLettered(t, h, incident)
				return
			}
			checkSent(t, h, ev.Type, incident, id, posts[len(posts)-1].Code, tc.wantAttempts)
		})
	}
}

// checkPost checks one webhook request as a receiver would.
func checkPost(t *testing.T, p post, eventType, incident, id, secret string) {
	t.Helper()
	if p.Header.Get("Idempotency-Key") != id || p.Header.Get("User-Agent") != "medic-notifier" ||
		!strings.HasPrefix(p.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("headers %v", p.Header)
	}
	body := decode(t, p.Body)
	about := map[string]string{events.TypeIncidentOpened: "incident.opened", events.TypeIncidentResolved: "incident.resolved",
		events.TypeRemediationFailed: "remediation.failed", events.TypeRemediationEscalated: "remediation.escalated"}[eventType]
	if body["version"] != "1" || body["about"] != about || body["incident_id"] != incident || body["summary"] == "" {
		t.Fatalf("body %s", p.Body)
	}
	summary, _ := body["summary"].(string)
	cause, _ := body["top_cause"].(map[string]any)
	switch about {
	case "incident.resolved":
		if body["status"] != "resolved" || body["urgency"] != "notify" || body["resolved_at"] == nil || cause["id"] != "fraud@v2" ||
			body["remediation"] == nil || !strings.Contains(summary, "remediation rollback-bad-model-version succeeded") {
			t.Fatalf("resolved body %s", p.Body)
		}
	case "incident.opened":
		if body["status"] != "open" || body["urgency"] != "notify" || body["severity"] != "critical" || body["title"] != "prediction.error high" {
			t.Fatalf("opened body %s", p.Body)
		}
	case "remediation.failed":
		rem, _ := body["remediation"].(map[string]any)
		if body["status"] != "open" || body["urgency"] != "page" || body["cause_id"] != "fraud@v2" || rem["outcome"] != "failed" ||
			!strings.Contains(summary, "0.42 still above 0.05") || !strings.Contains(summary, "by hand") {
			t.Fatalf("failed body %s", p.Body)
		}
	case "remediation.escalated":
		if body["status"] != "open" || body["urgency"] != "page" || body["reason"] != "no_runbook" || cause["id"] != "user_age" ||
			!strings.Contains(summary, "no runbook matches cause feature:user_age") || !strings.Contains(summary, "by hand") {
			t.Fatalf("escalated body %s", p.Body)
		}
	default:
		t.Fatalf("unexpected post about %v: %s", body["about"], p.Body)
	}
	if at, _ := body["detected_at"].(string); at != "" {
		if _, err := time.Parse(time.RFC3339Nano, at); err != nil {
			t.Fatalf("detected_at %q: %v", at, err)
		}
	}
	sig := p.Header.Get("webhook-signature")
	if secret == "" {
		if sig != "" {
			t.Fatalf("unsigned delivery carries signature %q", sig)
		}
		return
	}
	// Standard Webhooks: HMAC-SHA256 of "<id>.<timestamp>.<body>"; a secret
	// without the whsec_ prefix is the key itself.
	ts := p.Header.Get("webhook-timestamp")
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(id + "." + ts + "." + string(p.Body)))
	if p.Header.Get("webhook-id") != id || !hmac.Equal([]byte(sig), []byte("v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))) {
		t.Fatalf("webhook-id %q, signature %q does not verify", p.Header.Get("webhook-id"), sig)
	}
}

// checkSent checks that exactly one notification.sent describes the delivery.
func checkSent(t *testing.T, h *harness, eventType, incident, id string, code, attempts int) {
	t.Helper()
	msgs := servicetest.ReadStream(t, h.js, bus.StreamEvents, sentSubject)
	if len(msgs) != 1 {
		t.Fatalf("%d notification.sent events, want 1", len(msgs))
	}
	ev, err := events.Decode(msgs[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	sent, err := events.As[events.NotificationSent](ev)
	if err != nil {
		t.Fatal(err)
	}
	want := events.NotificationSent{NotificationID: id, IncidentID: incident, Receiver: "webhook", About: eventType,
		StatusCode: code, Attempts: attempts, SentUnixNano: sent.SentUnixNano}
	if ev.ID() != id || sent != want || sent.SentUnixNano == 0 {
		t.Fatalf("notification.sent %s %+v, want %s %+v", ev.ID(), sent, id, want)
	}
}

func checkDeadLettered(t *testing.T, h *harness, incident string) {
	t.Helper()
	if n := len(servicetest.ReadStream(t, h.js, bus.StreamEvents, sentSubject)); n != 0 {
		t.Fatalf("%d notification.sent events for a refused notification", n)
	}
	dead := servicetest.ReadStream(t, h.js, bus.StreamDLQ, "medic.dlq.>")
	if len(dead) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dead))
	}
	reason := strings.Join(dead[0].Header[bus.HeaderDLQReason], " ")
	if !strings.Contains(reason, "400") || !strings.Contains(string(dead[0].Data), incident) {
		t.Fatalf("dead letter reason %q data %s", reason, dead[0].Data)
	}
}

// A notifier that restarts and is handed the same event again (its consumer
// lost, say) must not post again: the KV ledger remembers the delivery.
func TestRedeliveryAfterRestartDoesNotPostAgain(t *testing.T) {
	tests := []struct {
		name string
		data events.Data
	}{
		{name: "opened", data: incidentOpened("inc-restart")},
		{name: "remediation failed", data: remediationFailed("inc-restart")},
		{name: "escalated", data: remediationEscalated("inc-restart")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "", []int{200})
			stop := h.run(t)
			ev, err := h.pub.Emit(context.Background(), uuid.NewString(), tc.data)
			if err != nil {
				t.Fatal(err)
			}
			h.waitDrained(t)
			stop()
			if err := h.js.DeleteConsumer(context.Background(), bus.StreamEvents, "notifier"); err != nil {
				t.Fatal(err)
			}
			h.run(t)
			h.waitDrained(t)
			if n := len(h.recv.Posts()); n != 1 {
				t.Fatalf("%d posts after a redelivery, want 1", n)
			}
			checkSent(t, h, ev.Type, "inc-restart", events.DerivedID("notification", ev.ID), 200, 1)
		})
	}
}
