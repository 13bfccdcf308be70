package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/nats-io/nats.go/jetstream"
)

// WaitOver waits until the stream says the scenario is over: an incident
// opened, every one opened resolved, every remediation started ended,
// and the opening and the resolution of each were notified. When timeout
// passes first it fails the test, naming what is missing, and returns, so
// that CheckEndState can still list every difference.
func (h *Harness) WaitOver(ctx context.Context, timeout time.Duration) {
	h.T.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := h.Log.Refresh(ctx)
		if err == nil && len(h.pending()) == 0 {
			return
		}
		if time.Now().After(deadline) {
			h.T.Errorf("the scenario was not over after %s: missing %s (last error: %v)", timeout, strings.Join(h.pending(), "; "), err)
			return
		}
		select {
		case <-ctx.Done():
			h.T.Errorf("waiting for the scenario to end: %v", ctx.Err())
			return
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// timeline prints what the events stream holds, for a failed run.
func (h *Harness) timeline() {
	var sb strings.Builder
	for _, ev := range h.Log.Events {
		fmt.Fprintf(&sb, "  %s %-36s %-40s incident=%s\n", ev.Meta.Time.Format("15:04:05.000"), ev.Meta.ID, strings.TrimPrefix(ev.Meta.Type, "dev.medic."), Field(ev, "incident_id"))
	}
	h.T.Logf("%s holds %d events:\n%s", bus.StreamEvents, len(h.Log.Events), sb.String())
}

// pending lists what the stream does not hold yet.
func (h *Harness) pending() []string {
	var out []string
	opened := ids(h.Log.Of(events.TypeIncidentOpened), "incident_id")
	if len(opened) == 0 {
		out = append(out, "incident.opened")
	}
	resolved := ids(h.Log.Of(events.TypeIncidentResolved), "incident_id")
	sent := h.Log.Of(events.TypeNotificationSent)
	for id := range opened {
		if resolved[id] == 0 {
			out = append(out, "incident.resolved of "+id)
		}
		for _, about := range []string{events.TypeIncidentOpened, events.TypeIncidentResolved} {
			if !slices.ContainsFunc(sent, func(ev Event) bool { return Field(ev, "incident_id") == id && Field(ev, "about") == about }) {
				out = append(out, "notification.sent about "+about+" of "+id)
			}
		}
	}
	ended := ids(append(h.Log.Of(events.TypeRemediationSucceeded), h.Log.Of(events.TypeRemediationFailed)...), "execution_id")
	for ex := range ids(h.Log.Of(events.TypeRemediationStarted), "execution_id") {
		if ended[ex] == 0 {
			out = append(out, "the outcome of remediation "+ex)
		}
	}
	return out
}

// CheckEndState asserts what a run without faults ends with: one incident,
// resolved, in the stream, the incidents table and the correlator's KV;
// one remediation executed, with one rollback key at the control API; one
// webhook post per notification; an empty dead-letter stream; and a row
// in the events table for every event of the stream. ClickHouse and the
// buckets may trail the stream (a restarted archiver replays its backlog,
// and in `make test` it shares one ClickHouse with a dozen other stacks),
// so the check is repeated for up to 3 minutes before it fails with every
// difference it found (90 s was too short in a full `make test` on two
// cores: the archiver had 42,822 of 48,274 points in).
func (h *Harness) CheckEndState(ctx context.Context) {
	h.T.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		problems := h.endStateProblems(ctx)
		if len(problems) == 0 {
			h.T.Logf("end state as without faults: %d events in %s, each with its row; 1 incident resolved; 1 rollback key; %d webhook posts, one per notification id; %s empty",
				len(h.Log.Events), bus.StreamEvents, len(h.Webhook.Calls(nil)), bus.StreamDLQ)
			return
		}
		if time.Now().After(deadline) {
			for _, p := range problems {
				h.T.Errorf("end state: %s", p)
			}
			h.timeline()
			return
		}
		time.Sleep(time.Second)
	}
}

func (h *Harness) endStateProblems(ctx context.Context) []string {
	if err := h.Log.Refresh(ctx); err != nil {
		return []string{fmt.Sprintf("reading %s: %v", bus.StreamEvents, err)}
	}
	var p []string
	p = append(p, h.checkIncidentEvents()...)
	p = append(p, h.checkRemediation()...)
	p = append(p, h.checkNotifications()...)
	p = append(p, h.checkDLQ(ctx)...)
	p = append(p, h.checkEventsTable(ctx)...)
	p = append(p, h.checkMetricsTable(ctx)...)
	p = append(p, h.checkIncidentsTable(ctx)...)
	p = append(p, h.checkBuckets(ctx)...)
	return p
}

// incident is the run's one incident id, or "" when there is not exactly one.
func (h *Harness) incident() string {
	opened := ids(h.Log.Of(events.TypeIncidentOpened), "incident_id")
	for id := range opened {
		if len(opened) == 1 {
			return id
		}
	}
	return ""
}

func (h *Harness) checkIncidentEvents() []string {
	var p []string
	opened := h.Log.Of(events.TypeIncidentOpened)
	if len(opened) != 1 {
		p = append(p, fmt.Sprintf("%s holds %d incident.opened events (incidents %v), want 1", bus.StreamEvents, len(opened), keys(ids(opened, "incident_id"))))
	}
	if resolved := h.Log.Of(events.TypeIncidentResolved); len(resolved) != 1 {
		p = append(p, fmt.Sprintf("%s holds %d incident.resolved events (ids %v), want 1", bus.StreamEvents, len(resolved), eventIDs(resolved)))
	}
	return p
}

func (h *Harness) checkRemediation() []string {
	var p []string
	started := h.Log.Of(events.TypeRemediationStarted)
	if len(started) != 1 {
		p = append(p, fmt.Sprintf("%d remediation.started events (executions %v), want 1", len(started), keys(ids(started, "execution_id"))))
	}
	if ok := h.Log.Of(events.TypeRemediationSucceeded); len(ok) != 1 {
		p = append(p, fmt.Sprintf("%d remediation.succeeded events (executions %v), want 1", len(ok), keys(ids(ok, "execution_id"))))
	}
	if failed := h.Log.Of(events.TypeRemediationFailed); len(failed) != 0 {
		p = append(p, fmt.Sprintf("%d remediation.failed events: %v", len(failed), fields(failed, "error")))
	}
	rollbacks := h.Control.Calls(func(c Call) bool { return strings.HasSuffix(c.Path, "/rollback") })
	byKey := map[string]int{}
	for _, c := range rollbacks {
		byKey[c.Key]++
	}
	if len(byKey) != 1 {
		p = append(p, fmt.Sprintf("the simulator's control API got %d rollback calls under %d Idempotency-Keys %v, want one key", len(rollbacks), len(byKey), byKey))
	}
	return p
}

func (h *Harness) checkNotifications() []string {
	var p []string
	posts := map[string]int{}
	for _, c := range h.Webhook.Calls(nil) {
		posts[c.Key]++
	}
	for key, n := range posts {
		if n != 1 {
			p = append(p, fmt.Sprintf("the webhook got %d posts with Idempotency-Key %q, want 1", n, key))
		}
	}
	sent := ids(h.Log.Of(events.TypeNotificationSent), "notification_id")
	for id, n := range sent {
		if n != 1 {
			p = append(p, fmt.Sprintf("%d notification.sent events for notification %s, want 1", n, id))
		}
		if posts[id] == 0 {
			p = append(p, fmt.Sprintf("notification %s was reported sent but the webhook never got it", id))
		}
	}
	for key := range posts {
		if sent[key] == 0 {
			p = append(p, fmt.Sprintf("the webhook got notification %q, for which no notification.sent is in %s", key, bus.StreamEvents))
		}
	}
	about := map[string]map[string]bool{}
	for _, c := range h.Webhook.Calls(nil) {
		k := fmt.Sprintf("%v %v", c.Body["incident_id"], c.Body["about"])
		if about[k] == nil {
			about[k] = map[string]bool{}
		}
		about[k][c.Key] = true
	}
	for k, ids := range about {
		if len(ids) != 1 {
			p = append(p, fmt.Sprintf("%d notifications (ids %v) for one transition (%s), want 1", len(ids), keys(ids), k))
		}
	}
	return p
}

func (h *Harness) checkDLQ(ctx context.Context) []string {
	var dl []DeadLetter
	err := h.JetStream(bus.UserCLI, func(js jetstream.JetStream) (err error) {
		dl, err = deadLetters(ctx, js)
		return err
	})
	if err != nil {
		return []string{fmt.Sprintf("reading %s: %v", bus.StreamDLQ, err)}
	}
	var p []string
	for _, d := range dl {
		p = append(p, fmt.Sprintf("dead-lettered by %s: %s: %s", d.Consumer, d.Subject, d.Reason))
	}
	return p
}

func (h *Harness) checkEventsTable(ctx context.Context) []string {
	rows, err := h.Store.Conn().Query(ctx, "SELECT DISTINCT id FROM events")
	if err != nil {
		return []string{fmt.Sprintf("reading the events table: %v", err)}
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return []string{err.Error()}
		}
		have[id] = true
	}
	var missing []string
	for _, ev := range h.Log.Events {
		if !have[ev.Meta.ID] {
			missing = append(missing, ev.Meta.Type+" "+ev.Meta.ID)
		}
	}
	if len(missing) > 0 {
		return []string{fmt.Sprintf("%d of %d events of %s have no row in the events table: %v", len(missing), len(h.Log.Events), bus.StreamEvents, missing)}
	}
	return nil
}

// checkMetricsTable compares every point the telemetry stream holds with
// the metrics table: a point is a row (event_id, point_index), folded by
// FINAL when a batch was written twice.
func (h *Harness) checkMetricsTable(ctx context.Context) []string {
	batches, err := telemetryBatches(ctx, h.Log.js)
	if err != nil {
		return []string{fmt.Sprintf("reading %s: %v", bus.StreamTelemetry, err)}
	}
	if len(batches) == 0 {
		return []string{bus.StreamTelemetry + " holds no telemetry"}
	}
	// The run's database is its own: every row of metrics is this run's.
	rows, err := h.Store.Conn().Query(ctx, "SELECT event_id, count() FROM metrics FINAL GROUP BY event_id")
	if err != nil {
		return []string{fmt.Sprintf("reading the metrics table: %v", err)}
	}
	defer rows.Close()
	var got uint64
	for rows.Next() {
		var id string
		var n uint64
		if err := rows.Scan(&id, &n); err != nil {
			return []string{err.Error()}
		}
		if _, ok := batches[id]; ok {
			got += n
		}
	}
	want := 0
	for _, n := range batches {
		want += n
	}
	if int(got) != want {
		return []string{fmt.Sprintf("%d of the %d points in %s (%d batches) have a row in metrics", got, want, bus.StreamTelemetry, len(batches))}
	}
	return nil
}

func (h *Harness) checkIncidentsTable(ctx context.Context) []string {
	rows, err := h.Store.Conn().Query(ctx, "SELECT incident_id, toString(status) FROM incidents FINAL")
	if err != nil {
		return []string{fmt.Sprintf("reading the incidents table: %v", err)}
	}
	defer rows.Close()
	got := map[string]string{}
	for rows.Next() {
		var id, status string
		if err := rows.Scan(&id, &status); err != nil {
			return []string{err.Error()}
		}
		got[id] = status
	}
	if id := h.incident(); len(got) != 1 || got[id] != "resolved" {
		return []string{fmt.Sprintf("incidents table (FINAL) holds %v, want only %s resolved", got, id)}
	}
	return nil
}

// checkBuckets compares the owners' KV buckets with the stream: the
// correlator knows the incident resolved and keeps no open group, the
// remediator's one execution finished, the notifier's ledger holds every
// notification sent.
func (h *Harness) checkBuckets(ctx context.Context) []string {
	var p []string
	id := h.incident()
	err := h.JetStream("correlator", func(js jetstream.JetStream) error {
		incidents, err := kvValues(ctx, js, "medic_correlator_incidents")
		if err != nil {
			return err
		}
		resolved := 0
		for _, raw := range incidents {
			var st struct {
				ID       string `json:"id"`
				Resolved int64  `json:"resolved_unix_nano"`
			}
			_ = json.Unmarshal(raw, &st)
			if st.ID == id && st.Resolved > 0 {
				resolved++
			}
		}
		if len(incidents) != 1 || resolved != 1 {
			p = append(p, fmt.Sprintf("medic_correlator_incidents holds %d incidents, want only %s, resolved", len(incidents), id))
		}
		groups, err := kvValues(ctx, js, "medic_correlator_groups")
		if err == nil && len(groups) != 0 {
			p = append(p, fmt.Sprintf("medic_correlator_groups still points at an open incident: %v", keys(groups)))
		}
		return err
	})
	if err != nil {
		p = append(p, "reading the correlator's buckets: "+err.Error())
	}
	err = h.JetStream("remediator", func(js jetstream.JetStream) error {
		recs, err := kvValues(ctx, js, "medic_remediations")
		if err != nil {
			return err
		}
		started := ids(h.Log.Of(events.TypeRemediationStarted), "execution_id")
		for key, raw := range recs {
			var r struct {
				State       string `json:"state"`
				OutcomeType string `json:"outcome_type"`
			}
			_ = json.Unmarshal(raw, &r)
			if r.State != "finished" || r.OutcomeType != events.TypeRemediationSucceeded {
				p = append(p, fmt.Sprintf("medic_remediations %s is %s/%s, want finished/succeeded", key, r.State, r.OutcomeType))
			}
		}
		if len(recs) != 1 || len(started) != 1 || recs[keys(started)[0]] == nil {
			p = append(p, fmt.Sprintf("medic_remediations holds %v, want only the started execution %v", keys(recs), keys(started)))
		}
		return nil
	})
	if err != nil {
		p = append(p, "reading the remediator's buckets: "+err.Error())
	}
	err = h.JetStream("notifier", func(js jetstream.JetStream) error {
		ledger, err := kvValues(ctx, js, "medic_notifications")
		if err != nil {
			return err
		}
		sent := ids(h.Log.Of(events.TypeNotificationSent), "notification_id")
		if !slices.Equal(keys(ledger), keys(sent)) {
			p = append(p, fmt.Sprintf("medic_notifications holds %v, want the notifications sent %v", keys(ledger), keys(sent)))
		}
		return nil
	})
	if err != nil {
		p = append(p, "reading the notifier's buckets: "+err.Error())
	}
	return p
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// DeadLetterCount is how many messages MEDIC_DLQ holds.
func (h *Harness) DeadLetterCount(ctx context.Context) (int, error) {
	var dl []DeadLetter
	err := h.JetStream(bus.UserCLI, func(js jetstream.JetStream) (err error) {
		dl, err = deadLetters(ctx, js)
		return err
	})
	return len(dl), err
}
