package bus_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/servicetest"
)

// maxDefaultAckWait bounds the default AckWait: a killed service's message
// waits that long before another replica (or the restarted one) gets it, and
// that wait adds to MTTR. It was 30 s.
const maxDefaultAckWait = 10 * time.Second

// A consumer whose process dies mid-message (no ack, no nak) loses the
// message to another consumer on the same durable within about AckWait,
// with the default AckWait.
func TestKilledConsumersMessageIsRedeliveredWithinAckWait(t *testing.T) {
	nats := servicetest.StartNATS(t)
	killed := servicetest.Connect(t, nats.URL())
	ctx := context.Background()
	spec := bus.ConsumerSpec{Stream: bus.StreamEvents, Durable: "killed"}

	started := make(chan struct{})
	release := make(chan struct{})
	defer close(release)
	var once atomic.Bool
	c, err := killed.Consume(ctx, spec, bus.On(func(ctx context.Context, ev events.Meta, _ events.ChangeRecorded) error {
		if once.CompareAndSwap(false, true) {
			close(started)
		}
		<-release // the process dies before the handler returns
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	info, err := killed.JetStream().Consumer(ctx, spec.Stream, spec.Durable)
	if err != nil {
		t.Fatal(err)
	}
	ackWait := info.CachedInfo().Config.AckWait
	if ackWait > maxDefaultAckWait {
		t.Fatalf("default AckWait = %s, want at most %s", ackWait, maxDefaultAckWait)
	}
	if _, err := killed.Emit(ctx, "kill-1", change("c1")); err != nil {
		t.Fatal(err)
	}
	<-started
	killed.Conn().Close()
	killedAt := time.Now()
	defer func() {
		// Its connection is gone: this only stops its loop.
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		_ = c.Drain(dctx)
	}()

	survivor := servicetest.Connect(t, nats.URL())
	var redelivered atomic.Int64
	s, err := survivor.Consume(ctx, spec, bus.On(func(ctx context.Context, ev events.Meta, _ events.ChangeRecorded) error {
		redelivered.CompareAndSwap(0, time.Since(killedAt).Nanoseconds())
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Drain(ctx) //nolint:errcheck
	servicetest.PollFor(t, "the killed consumer's message to be redelivered", ackWait+5*time.Second, func() bool {
		return redelivered.Load() > 0
	})
	if took := time.Duration(redelivered.Load()); took > ackWait+2*time.Second {
		t.Fatalf("redelivered %s after the kill, want within AckWait %s (plus 2 s)", took, ackWait)
	}
	t.Logf("redelivered %s after the kill (AckWait %s)", time.Duration(redelivered.Load()), ackWait)
}

// A handler that runs for several AckWaits keeps its message: the runner
// signals progress every AckWait/3, so a short AckWait costs long handlers
// nothing.
func TestLongHandlerKeepsItsMessageWithShortAckWait(t *testing.T) {
	b := servicetest.Bus(t)
	ctx := context.Background()
	const ackWait = time.Second
	var deliveries atomic.Int32
	c, err := b.Consume(ctx, bus.ConsumerSpec{Stream: bus.StreamEvents, Durable: "long", AckWait: ackWait}, bus.On(func(ctx context.Context, ev events.Meta, _ events.ChangeRecorded) error {
		if deliveries.Add(1) == 1 {
			<-time.After(4 * ackWait) // the work itself: four AckWaits long
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Emit(ctx, "long-1", change("c1")); err != nil {
		t.Fatal(err)
	}
	servicetest.WaitConsumed(t, b.JetStream(), bus.StreamEvents, "long")
	if err := c.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if n := deliveries.Load(); n != 1 {
		t.Fatalf("delivered %d times, want 1: progress signals did not hold the message", n)
	}
}
