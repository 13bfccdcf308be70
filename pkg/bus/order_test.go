package bus_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/servicetest"
)

// A batch consumer gets large events in the order they were published, even
// when what it would pull ahead by count (1,000 events of about 180 KiB, as
// the ingest service writes telemetry) is more than the client buffers for
// a subscription: pulled by count, the client dropped the excess as a slow
// consumer and the server redelivered it after later events (the 224th
// event handled was the 508th published), which the detector then judged
// late. The handler is slower than the network, as the detector's is.
func TestLargeEventsArriveInOrder(t *testing.T) {
	b := servicetest.Bus(t)
	ctx := context.Background()
	const n = 800
	points := make([]events.Point, 1000)
	for i := range points {
		points[i] = events.Point{Name: "prediction.latency_ms_bucket", Value: float64(i), TimeUnixNano: int64(i) + 1,
			Service: "model-server", Model: "fraud", ModelVersion: "v1", Attributes: map[string]string{"le": "250", "route": "/predict"}}
	}
	var want []string
	for i := range n {
		id := fmt.Sprintf("large-%03d", i)
		if _, err := b.Emit(ctx, id, events.TelemetryPoints{Source: "test", Points: points}); err != nil {
			t.Fatal(err)
		}
		want = append(want, id)
	}
	var (
		mu  sync.Mutex
		got []string
	)
	c, err := b.ConsumeItems(ctx, bus.ConsumerSpec{Stream: bus.StreamTelemetry, Durable: "large", BatchSize: 500},
		bus.OnBatch(func(_ context.Context, items []events.Item[events.TelemetryPoints]) error {
			time.Sleep(300 * time.Millisecond) // a handler slower than the network
			mu.Lock()
			defer mu.Unlock()
			for _, it := range items {
				got = append(got, it.Meta.ID)
			}
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Drain(context.Background()) })
	// Delivery is at least once: on a loaded machine a batch may outlast
	// AckWait and come again, which handlers take (they are idempotent).
	// What must not happen is an event arriving before one published
	// earlier: so the events are compared in the order they first came.
	servicetest.PollFor(t, fmt.Sprintf("%d events", n), 2*time.Minute, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(firstSeen(got)) >= n
	})
	mu.Lock()
	defer mu.Unlock()
	got = firstSeen(got)
	if !slices.Equal(got, want) {
		first := 0
		for first < min(len(got), len(want)) && got[first] == want[first] {
			first++
		}
		t.Fatalf("%d events in a different order from the %d published: first out of place at %d (%s)", len(got), n, first, got[first])
	}
}

// firstSeen is ids without their repeats, in the order each first came.
func firstSeen(ids []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
