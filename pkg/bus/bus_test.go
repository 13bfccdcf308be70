package bus_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/outcome"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"
)

func change(id string) events.ChangeRecorded {
	return events.ChangeRecorded{ChangeID: id, Kind: "deploy", Service: "model-server", TimeUnixNano: 1}
}

func dlqMessages(t *testing.T, b *bus.Bus) []jetstream.RawStreamMsg {
	t.Helper()
	return servicetest.ReadStream(t, b.JetStream(), bus.StreamDLQ, bus.SubjectsDLQ)
}

func TestPublishConsumeCarriesTraceAndDedups(t *testing.T) {
	b := servicetest.Bus(t)
	ctx := context.Background()
	traceID, _ := trace.TraceIDFromHex("0af7651916cd43dd8448eb211c80319c")
	spanID, _ := trace.SpanIDFromHex("b7ad6b7169203331")
	pctx := trace.ContextWithSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: spanID, TraceFlags: trace.FlagsSampled}))

	ev, err := events.NewWithID("evt-1", "medic/test", change("c1"))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 { // retries of one publish must not duplicate it
		if err := b.Publish(pctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	var got atomic.Int32
	var gotTrace atomic.Value
	c, err := b.Consume(ctx, bus.ConsumerSpec{Stream: bus.StreamEvents, Durable: "t1"}, bus.On(func(ctx context.Context, ev events.Meta, _ events.ChangeRecorded) error {
		got.Add(1)
		gotTrace.Store(trace.SpanContextFromContext(ctx).TraceID().String())
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	servicetest.Poll(t, "delivery", func() bool { return got.Load() >= 1 })
	if err := c.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if got.Load() != 1 {
		t.Fatalf("delivered %d times, want 1", got.Load())
	}
	if tr := gotTrace.Load(); tr != traceID.String() {
		t.Fatalf("trace %v not propagated (want %s)", tr, traceID)
	}
}

func TestInvalidEventGoesToDLQAndProcessingContinues(t *testing.T) {
	b := servicetest.Bus(t)
	ctx := context.Background()
	// A malformed message, then a good one behind it.
	if _, err := b.JetStream().Publish(ctx, "medic.events.change.recorded.v1", []byte(`{"specversion":"1.0","id":"bad","type":"dev.medic.change.recorded.v1","source":"x","datacontenttype":"application/json","data":{"kind":"teleport"}}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Emit(ctx, "good", change("c2")); err != nil {
		t.Fatal(err)
	}
	var ids []string
	done := make(chan struct{})
	c, err := b.Consume(ctx, bus.ConsumerSpec{Stream: bus.StreamEvents, Durable: "t2"}, bus.On(func(ctx context.Context, ev events.Meta, _ events.ChangeRecorded) error {
		ids = append(ids, ev.ID)
		close(done)
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("good event not handled after a bad one")
	}
	_ = c.Drain(ctx)
	if len(ids) != 1 || ids[0] != "good" {
		t.Fatalf("handled %v", ids)
	}
	var dl []jetstream.RawStreamMsg
	servicetest.Poll(t, "dead letter", func() bool { dl = dlqMessages(t, b); return len(dl) == 1 })
	h := dl[0].Header
	if dl[0].Subject != "medic.dlq.medic.events.change.recorded.v1" || h.Get(bus.HeaderDLQConsumer) != "t2" || h.Get(bus.HeaderDLQReason) == "" {
		t.Fatalf("dead letter %s %v", dl[0].Subject, h)
	}
	t.Logf("reason: %s", h.Get(bus.HeaderDLQReason))
}

// An event of one type published on another type's subject is dead-lettered
// with the reason, never handled as if it belonged there.
func TestEventOnAnotherTypesSubjectGoesToDLQ(t *testing.T) {
	b := servicetest.Bus(t)
	ctx := context.Background()
	ev, err := events.NewWithID("stray", servicetest.Source, change("c1"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := events.Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.JetStream().Publish(ctx, events.Subject(events.TypeTelemetryPoints), raw); err != nil {
		t.Fatal(err)
	}
	var handled atomic.Int32
	c, err := b.Consume(ctx, bus.ConsumerSpec{Stream: bus.StreamTelemetry, Durable: "t-subject"}, bus.On(func(ctx context.Context, ev events.Meta, _ events.ChangeRecorded) error {
		handled.Add(1)
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Drain(ctx) }()
	var dl []jetstream.RawStreamMsg
	servicetest.Poll(t, "dead letter", func() bool { dl = dlqMessages(t, b); return len(dl) == 1 })
	reason := dl[0].Header.Get(bus.HeaderDLQReason)
	if handled.Load() != 0 || dl[0].Subject != "medic.dlq.medic.telemetry.points.v1" || !strings.Contains(reason, "arrived on subject medic.telemetry.points.v1") {
		t.Fatalf("handled %d, dead letter on %s with reason %q", handled.Load(), dl[0].Subject, reason)
	}
}

func TestRetryThenSucceedAndPermanentAndExhausted(t *testing.T) {
	tests := []struct {
		name       string
		fail       func(n int32) error
		wantCalls  int32
		wantDLQ    int
		wantReason string
	}{
		{name: "transient then ok", fail: func(n int32) error {
			if n < 3 {
				return errors.New("clickhouse down")
			}
			return nil
		}, wantCalls: 3},
		{name: "permanent", fail: func(int32) error { return outcome.Permanent(errors.New("no runbook")) }, wantCalls: 1, wantDLQ: 1, wantReason: "no runbook"},
		{name: "exhausted", fail: func(int32) error { return errors.New("still down") }, wantCalls: 3, wantDLQ: 1, wantReason: "failed after 3 deliveries: still down"},
		// An early event waits as long as it must: its waits are no
		// failures, so five of them stay below MaxDeliver 3.
		{name: "early, then due", fail: func(n int32) error {
			if n < 6 {
				return outcome.RetryIn(10*time.Millisecond, errors.New("not persistent yet"))
			}
			return nil
		}, wantCalls: 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := servicetest.Bus(t)
			ctx := context.Background()
			if _, err := b.Emit(ctx, "e", change("c")); err != nil {
				t.Fatal(err)
			}
			var calls atomic.Int32
			c, err := b.Consume(ctx, bus.ConsumerSpec{Stream: bus.StreamEvents, Durable: "t3", MaxDeliver: 3, RetryBase: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond},
				bus.On(func(ctx context.Context, ev events.Meta, _ events.ChangeRecorded) error { return tc.fail(calls.Add(1)) }))
			if err != nil {
				t.Fatal(err)
			}
			servicetest.Poll(t, "calls", func() bool { return calls.Load() >= tc.wantCalls })
			if tc.wantDLQ > 0 {
				servicetest.Poll(t, "dead letter", func() bool { return len(dlqMessages(t, b)) == tc.wantDLQ })
				if r := dlqMessages(t, b)[0].Header.Get(bus.HeaderDLQReason); r != tc.wantReason {
					t.Fatalf("reason %q", r)
				}
			}
			// The consumer must have nothing left pending.
			servicetest.WaitConsumed(t, b.JetStream(), bus.StreamEvents, "t3")
			_ = c.Drain(ctx)
			if calls.Load() != tc.wantCalls {
				t.Fatalf("calls %d, want %d", calls.Load(), tc.wantCalls)
			}
		})
	}
}

func TestBatchAndDrainFinishesInFlight(t *testing.T) {
	b := servicetest.Bus(t)
	ctx := context.Background()
	const total, batchSize = 50, 20
	for i := range total {
		if _, err := b.Emit(ctx, events.DerivedID("batch", string(rune('a'+i))), change("c")); err != nil {
			t.Fatal(err)
		}
	}
	var seen atomic.Int32
	var batches atomic.Int32
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	spec := bus.ConsumerSpec{Stream: bus.StreamEvents, Durable: "t4", BatchSize: batchSize}
	c, err := b.ConsumeItems(ctx, spec,
		bus.OnRawBatch(func(ctx context.Context, evs []events.Raw) error {
			if batches.Add(1) == 1 {
				started <- struct{}{}
				<-release
			}
			seen.Add(int32(len(evs)))
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	<-started
	// The rest of the events wait in the client's buffer (and one batch
	// read ahead) while the first batch is in the handler.
	cons, err := b.JetStream().Consumer(ctx, bus.StreamEvents, "t4")
	if err != nil {
		t.Fatal(err)
	}
	servicetest.Poll(t, "every event delivered to the client", func() bool {
		info, err := cons.Info(ctx)
		return err == nil && info.NumPending == 0
	})
	drained := make(chan error)
	go func() { drained <- c.Drain(ctx) }()
	servicetest.Poll(t, "the drain to begin", c.Draining)
	close(release)
	if err := <-drained; err != nil {
		t.Fatal(err)
	}
	// Only the batch in the handler was finished; what waited was handed
	// back rather than started.
	if n := seen.Load(); n == 0 || n > batchSize {
		t.Fatalf("handled %d events while draining, want the batch in flight (1 to %d)", n, batchSize)
	}
	// Whatever was handled was acked, and the rest comes to the next
	// consumer on the same durable: each event handled once, none lost.
	var rest atomic.Int32
	next, err := b.ConsumeItems(ctx, spec, bus.OnRawBatch(func(ctx context.Context, evs []events.Raw) error {
		rest.Add(int32(len(evs)))
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = next.Drain(ctx) }()
	servicetest.Poll(t, "the handed-back events at the next consumer", func() bool {
		return seen.Load()+rest.Load() >= total
	})
	servicetest.WaitConsumed(t, b.JetStream(), bus.StreamEvents, "t4")
	if got := seen.Load() + rest.Load(); got != total {
		t.Fatalf("handled %d + %d events, want each of %d once", seen.Load(), rest.Load(), total)
	}
}

func TestBatchRejectDeadLettersOnlyTheNamedEvents(t *testing.T) {
	b := servicetest.Bus(t)
	ctx := context.Background()
	for _, id := range []string{"keep-1", "bad", "keep-2"} {
		if _, err := b.Emit(ctx, id, change("c")); err != nil {
			t.Fatal(err)
		}
	}
	var handled atomic.Int32
	c, err := b.ConsumeItems(ctx, bus.ConsumerSpec{Stream: bus.StreamEvents, Durable: "t5", BatchSize: 10},
		bus.OnRawBatch(func(ctx context.Context, evs []events.Raw) error {
			handled.Add(int32(len(evs)))
			return outcome.Reject(map[string]error{"bad": errors.New("wrong kind of event")})
		}))
	if err != nil {
		t.Fatal(err)
	}
	servicetest.Poll(t, "dead letter", func() bool { return len(dlqMessages(t, b)) == 1 })
	servicetest.WaitConsumed(t, b.JetStream(), bus.StreamEvents, "t5")
	_ = c.Drain(ctx)
	if r := dlqMessages(t, b)[0].Header.Get(bus.HeaderDLQReason); r != "wrong kind of event" {
		t.Fatalf("reason %q", r)
	}
	if handled.Load() != 3 {
		t.Fatalf("handled %d events, want 3 in one batch", handled.Load())
	}
}

// While a dependency is down, failures are retried past MaxDeliver and
// never dead-lettered; once it is back, the event goes through.
func TestOutageIsRetriedNotDeadLettered(t *testing.T) {
	b := servicetest.Bus(t)
	ctx := context.Background()
	if _, err := b.Emit(ctx, "during-outage", change("c")); err != nil {
		t.Fatal(err)
	}
	var down atomic.Bool
	down.Store(true)
	var calls atomic.Int32
	c, err := b.Consume(ctx, bus.ConsumerSpec{Stream: bus.StreamEvents, Durable: "t6", MaxDeliver: 2,
		RetryBase: 5 * time.Millisecond, RetryMax: 20 * time.Millisecond,
		Healthy: func() error {
			if down.Load() {
				return errors.New("clickhouse: connection refused")
			}
			return nil
		}},
		bus.On(func(ctx context.Context, ev events.Meta, _ events.ChangeRecorded) error {
			calls.Add(1)
			if down.Load() {
				return errors.New("insert: connection refused")
			}
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	servicetest.Poll(t, "several failed deliveries", func() bool { return calls.Load() >= 5 })
	if n := len(dlqMessages(t, b)); n != 0 {
		t.Fatalf("%d dead letters during an outage", n)
	}
	down.Store(false)
	servicetest.WaitConsumed(t, b.JetStream(), bus.StreamEvents, "t6")
	_ = c.Drain(ctx)
	if n := len(dlqMessages(t, b)); n != 0 {
		t.Fatalf("%d dead letters", n)
	}
}

// A consumer that the server deletes stops by itself, and says so.
func TestConsumerReportsWhenItStopsByItself(t *testing.T) {
	b := servicetest.Bus(t)
	ctx := context.Background()
	c, err := b.Consume(ctx, bus.ConsumerSpec{Stream: bus.StreamEvents, Durable: "t7"},
		bus.On(func(ctx context.Context, ev events.Meta, _ events.ChangeRecorded) error { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Err(); err != nil {
		t.Fatalf("running consumer: %v", err)
	}
	if err := b.JetStream().DeleteConsumer(ctx, bus.StreamEvents, "t7"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Done(): // the loop itself ended, not only the server check
	case <-time.After(30 * time.Second):
		t.Fatal("the consumer's loop did not end after its consumer was deleted")
	}
	if err := c.Err(); err == nil || !strings.Contains(err.Error(), "stopped") {
		t.Fatalf("Err() = %v, want the stopped-by-itself error", err)
	}
}

// A failure right after an outage is not the last straw: only failures
// while healthy count toward MaxDeliver.
func TestOutageDeliveriesDoNotCountTowardMaxDeliver(t *testing.T) {
	b := servicetest.Bus(t)
	ctx := context.Background()
	if _, err := b.Emit(ctx, "after-outage", change("c")); err != nil {
		t.Fatal(err)
	}
	var down atomic.Bool
	down.Store(true)
	var calls atomic.Int32
	c, err := b.Consume(ctx, bus.ConsumerSpec{Stream: bus.StreamEvents, Durable: "t8", MaxDeliver: 3,
		RetryBase: 5 * time.Millisecond, RetryMax: 20 * time.Millisecond,
		Healthy: func() error {
			if down.Load() {
				return errors.New("clickhouse down")
			}
			return nil
		}},
		bus.On(func(ctx context.Context, ev events.Meta, _ events.ChangeRecorded) error {
			n := calls.Add(1)
			if n == 6 {
				down.Store(false) // back after five outage deliveries
			}
			if n <= 7 {
				return errors.New("transient")
			}
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	servicetest.WaitConsumed(t, b.JetStream(), bus.StreamEvents, "t8")
	_ = c.Drain(ctx)
	if n := len(dlqMessages(t, b)); n != 0 {
		t.Fatalf("%d dead letters; two healthy failures are below MaxDeliver 3", n)
	}
	if calls.Load() != 8 {
		t.Fatalf("%d calls, want 8", calls.Load())
	}
}

// A handler that panics does not crash the service: the event is
// dead-lettered with the panic as its reason, and the next one is handled.
func TestPanickingHandlerDeadLettersTheEvent(t *testing.T) {
	b := servicetest.Bus(t)
	ctx := context.Background()
	for _, id := range []string{"boom", "fine"} {
		if _, err := b.Emit(ctx, id, change("c")); err != nil {
			t.Fatal(err)
		}
	}
	var handled atomic.Int32
	c, err := b.Consume(ctx, bus.ConsumerSpec{Stream: bus.StreamEvents, Durable: "t9"},
		bus.On(func(ctx context.Context, ev events.Meta, _ events.ChangeRecorded) error {
			if ev.ID == "boom" {
				panic("nil map")
			}
			handled.Add(1)
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	servicetest.WaitConsumed(t, b.JetStream(), bus.StreamEvents, "t9")
	_ = c.Drain(ctx)
	dl := dlqMessages(t, b)
	if len(dl) != 1 || dl[0].Header.Get(bus.HeaderDLQReason) != "handler panicked: nil map" || handled.Load() != 1 {
		t.Fatalf("dead letters %d (reason %q), handled %d", len(dl), dl[0].Header.Get(bus.HeaderDLQReason), handled.Load())
	}
}

// A telemetry event that breaks its schema is dead-lettered with the
// reason, though telemetry is checked by its Go type's Check rather than
// the JSON Schema (events.Read), and the good batch behind it is handled.
func TestTelemetryFailingItsSchemaGoesToDLQ(t *testing.T) {
	b := servicetest.Bus(t)
	ctx := context.Background()
	envelope := `{"specversion":"1.0","id":"%s","type":"dev.medic.telemetry.points.v1","source":"x","datacontenttype":"application/json","data":%s}`
	bad := map[string]string{
		"unknown-field": `{"source":"s","points":[{"name":"m","value":1,"time_unix_nano":1,"service":"a","colour":"red"}]}`,
		"wrong-type":    `{"source":"s","points":[{"name":"m","value":"1","time_unix_nano":1,"service":"a"}]}`,
		"out-of-bounds": `{"source":"s","points":[{"name":"m","value":1e16,"time_unix_nano":1,"service":"a"}]}`,
		"no-points":     `{"source":"s","points":[]}`,
	}
	wantReason := map[string]string{"unknown-field": "unknown field: colour", "wrong-type": "Point.Value",
		"out-of-bounds": "points[0].value", "no-points": "points: none"}
	for id, data := range bad {
		if _, err := b.JetStream().Publish(ctx, events.Subject(events.TypeTelemetryPoints), fmt.Appendf(nil, envelope, id, data)); err != nil {
			t.Fatal(err)
		}
	}
	good := events.TelemetryPoints{Source: "s", Points: []events.Point{{Name: "m", Value: 2, TimeUnixNano: 1, Service: "a"}}}
	if _, err := b.Emit(ctx, "good", good); err != nil {
		t.Fatal(err)
	}
	var handled atomic.Pointer[[]events.Item[events.TelemetryPoints]]
	c, err := b.ConsumeItems(ctx, bus.ConsumerSpec{Stream: bus.StreamTelemetry, Durable: "t-telemetry", BatchSize: 10},
		bus.OnBatch(func(ctx context.Context, items []events.Item[events.TelemetryPoints]) error {
			handled.Store(&items)
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Drain(ctx) }()
	var dl []jetstream.RawStreamMsg
	servicetest.Poll(t, "dead letters", func() bool { dl = dlqMessages(t, b); return len(dl) == len(bad) })
	for _, m := range dl {
		var ev struct{ ID string }
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			t.Fatal(err)
		}
		if reason := m.Header.Get(bus.HeaderDLQReason); !strings.Contains(reason, wantReason[ev.ID]) || !strings.Contains(reason, events.ErrInvalid.Error()) {
			t.Errorf("%s dead-lettered with reason %q, want it to say %q", ev.ID, reason, wantReason[ev.ID])
		}
		if err := events.ValidateData(events.TypeTelemetryPoints, []byte(bad[ev.ID])); err == nil {
			t.Errorf("%s: the schema accepts it, so it is no test of the check", ev.ID)
		}
	}
	servicetest.Poll(t, "good batch handled", func() bool { return handled.Load() != nil })
	if items := *handled.Load(); len(items) != 1 || items[0].Meta.ID != "good" || items[0].Data.Points[0].Value != 2 {
		t.Fatalf("handled %+v", items)
	}
}
