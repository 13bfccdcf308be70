package bus_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/outcome"
	"github.com/medic-sre/medic/pkg/servicetest"
	"go.opentelemetry.io/otel/trace"
)

// reasons maps the subject of each dead letter to its reason.
func reasons(t *testing.T, b *bus.Bus) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range dlqMessages(t, b) {
		out[m.Header.Get(bus.HeaderDLQSubject)] = m.Header.Get(bus.HeaderDLQReason)
	}
	return out
}

// A typed handler gets the decoded data and the event's metadata: its id,
// type, time and the trace it was published under. One route takes the
// three types of an incident transition, with the status set from each
// event's type.
func TestTypedRoutesGetDataAndMeta(t *testing.T) {
	b := servicetest.Bus(t)
	ctx := context.Background()
	traceID, _ := trace.TraceIDFromHex("0af7651916cd43dd8448eb211c80319c")
	spanID, _ := trace.SpanIDFromHex("b7ad6b7169203331")
	pctx := trace.ContextWithSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: spanID, TraceFlags: trace.FlagsSampled}))
	sent, err := b.Emit(pctx, "c-1", change("c1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, status := range []string{events.StatusAcknowledged, events.StatusMitigated, events.StatusResolved} {
		if _, err := b.Emit(ctx, "t-"+status, events.IncidentTransition{Status: status, IncidentID: "i1", AtUnixNano: 1}); err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu          sync.Mutex
		changes     []events.ChangeRecorded
		metas       []events.Meta
		transitions []string
	)
	c, err := b.Consume(ctx, bus.ConsumerSpec{Stream: bus.StreamEvents, Durable: "typed"},
		bus.On(func(_ context.Context, m events.Meta, d events.ChangeRecorded) error {
			mu.Lock()
			defer mu.Unlock()
			changes, metas = append(changes, d), append(metas, m)
			return nil
		}),
		bus.On(func(_ context.Context, m events.Meta, d events.IncidentTransition) error {
			mu.Lock()
			defer mu.Unlock()
			transitions = append(transitions, m.ID+"="+d.Status+"/"+d.IncidentID)
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	servicetest.WaitConsumed(t, b.JetStream(), bus.StreamEvents, "typed")
	_ = c.Drain(ctx)
	mu.Lock()
	defer mu.Unlock()
	if len(changes) != 1 || changes[0] != change("c1") {
		t.Fatalf("changes %+v", changes)
	}
	m := metas[0]
	if m.ID != "c-1" || m.Type != events.TypeChangeRecorded || m.Subject != "model-server" || m.Source != servicetest.Source ||
		!m.Time.Equal(sent.Time) || m.Time.IsZero() {
		t.Fatalf("meta %+v, sent %+v", m, sent)
	}
	if !strings.Contains(m.Traceparent, traceID.String()) || m.Traceparent != sent.Traceparent {
		t.Fatalf("traceparent %q, want trace %s as sent (%q)", m.Traceparent, traceID, sent.Traceparent)
	}
	want := []string{"t-acknowledged=acknowledged/i1", "t-mitigated=mitigated/i1", "t-resolved=resolved/i1"}
	if strings.Join(transitions, " ") != strings.Join(want, " ") {
		t.Fatalf("transitions %v, want %v", transitions, want)
	}
}

// What no handler should see is dead-lettered with its reason: an event of
// a type with no route, an event whose data breaks its schema, and an event
// whose handler says no retry can help. The events behind them go through.
func TestTypedDeadLetters(t *testing.T) {
	b := servicetest.Bus(t)
	ctx := context.Background()
	bad := `{"specversion":"1.0","id":"bad","type":"dev.medic.change.recorded.v1","source":"x","datacontenttype":"application/json","data":{"change_id":"c","kind":"teleport","service":"s","time_unix_nano":1}}`
	if _, err := b.JetStream().Publish(ctx, events.Subject(events.TypeChangeRecorded), []byte(bad)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Emit(ctx, "unrouted", events.AnomalyResolved{AnomalyID: "a", Rule: "r", Fingerprint: "f", Metric: "m", Service: "s", ResolvedUnixNano: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Emit(ctx, "refused", events.RemediationEscalated{EscalationID: "e", IncidentID: "i", Reason: events.EscalationNoRunbook, Detail: "d", EscalatedUnixNano: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Emit(ctx, "good", change("c2")); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var handled []string
	c, err := b.Consume(ctx, bus.ConsumerSpec{Stream: bus.StreamEvents, Durable: "typed-dlq"},
		bus.On(func(_ context.Context, m events.Meta, d events.ChangeRecorded) error {
			mu.Lock()
			defer mu.Unlock()
			handled = append(handled, m.ID)
			return nil
		}),
		bus.On(func(_ context.Context, m events.Meta, d events.RemediationEscalated) error {
			return outcome.Permanent(errors.New("no runbook for " + d.IncidentID))
		}))
	if err != nil {
		t.Fatal(err)
	}
	servicetest.WaitConsumed(t, b.JetStream(), bus.StreamEvents, "typed-dlq")
	_ = c.Drain(ctx)
	mu.Lock()
	defer mu.Unlock()
	if len(handled) != 1 || handled[0] != "good" {
		t.Fatalf("handled %v, want only the good event", handled)
	}
	var got map[string]string
	servicetest.Poll(t, "three dead letters", func() bool { got = reasons(t, b); return len(got) == 3 })
	for subject, want := range map[string]string{
		"medic.events.change.recorded.v1":       "invalid event",
		"medic.events.anomaly.resolved.v1":      "consumer typed-dlq does not handle dev.medic.anomaly.resolved.v1",
		"medic.events.remediation.escalated.v1": "no runbook for i",
	} {
		if !strings.Contains(got[subject], want) {
			t.Errorf("dead letter on %s: reason %q, want it to say %q", subject, got[subject], want)
		}
	}
}

// Wiring mistakes are reported at once, before any message is taken: two
// routes for one type, no route, a zero route.
func TestTypedRoutesAreChecked(t *testing.T) {
	b := servicetest.Bus(t)
	h := func(context.Context, events.Meta, events.ChangeRecorded) error { return nil }
	tests := []struct {
		name   string
		routes []bus.Route
	}{
		{name: "two routes for one type", routes: []bus.Route{bus.On(h), bus.On(h)}},
		{name: "no route"},
		{name: "zero route", routes: []bus.Route{{}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := b.Consume(context.Background(), bus.ConsumerSpec{Stream: bus.StreamEvents, Durable: "wiring"}, tc.routes...); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if _, err := b.ConsumeItems(context.Background(), bus.ConsumerSpec{Stream: bus.StreamEvents, Durable: "wiring"}, bus.BatchRoute{}); err == nil {
		t.Fatal("a zero batch route was accepted")
	}
}

// A typed batch holds the items of its type, each with its metadata; an
// event of another type is dead-lettered before the handler sees the
// batch, and the handler may reject single items.
func TestTypedBatch(t *testing.T) {
	b := servicetest.Bus(t)
	ctx := context.Background()
	for _, id := range []string{"keep-1", "bad", "keep-2"} {
		if _, err := b.Emit(ctx, id, change(id)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Emit(ctx, "stray", events.AnomalyResolved{AnomalyID: "a", Rule: "r", Fingerprint: "f", Metric: "m", Service: "s", ResolvedUnixNano: 1}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var items []events.Item[events.ChangeRecorded]
	c, err := b.ConsumeItems(ctx, bus.ConsumerSpec{Stream: bus.StreamEvents, Durable: "typed-batch", BatchSize: 10, BatchLinger: 200 * time.Millisecond},
		bus.OnBatch(func(_ context.Context, batch []events.Item[events.ChangeRecorded]) error {
			mu.Lock()
			defer mu.Unlock()
			items = append(items, batch...)
			return outcome.Reject(map[string]error{"bad": errors.New("wrong kind of change")})
		}))
	if err != nil {
		t.Fatal(err)
	}
	servicetest.WaitConsumed(t, b.JetStream(), bus.StreamEvents, "typed-batch")
	_ = c.Drain(ctx)
	mu.Lock()
	defer mu.Unlock()
	var ids []string
	for _, it := range items {
		if it.Data.ChangeID != it.Meta.ID || it.Meta.Time.IsZero() {
			t.Errorf("item %+v: data and meta disagree", it)
		}
		ids = append(ids, it.Meta.ID)
	}
	if strings.Join(ids, " ") != "keep-1 bad keep-2" {
		t.Fatalf("items %v", ids)
	}
	var got map[string]string
	servicetest.Poll(t, "two dead letters", func() bool { got = reasons(t, b); return len(dlqMessages(t, b)) == 2 })
	if got["medic.events.change.recorded.v1"] != "wrong kind of change" ||
		!strings.Contains(got["medic.events.anomaly.resolved.v1"], "does not handle") {
		t.Fatalf("dead letters %v", got)
	}
}
