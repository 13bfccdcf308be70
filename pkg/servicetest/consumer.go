package servicetest

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// WaitConsumed waits until the durable consumer has acked (or terminated)
// the newest message on its subjects and everything before it, so that a
// test can check outcomes without sleeping. The consumer need not exist
// yet: a service creates its own when it starts.
//
// Consumer pending counts lag behind the stream (a message just published
// is not yet pending), so the check compares stream sequences instead: the
// newest sequence on the consumer's subjects when WaitConsumed is called
// must be at or below the consumer's ack floor.
func WaitConsumed(t testing.TB, js jetstream.JetStream, stream, durable string) {
	t.Helper()
	ctx := context.Background()
	var newest uint64
	Poll(t, "consumer "+durable+" on "+stream, func() bool {
		c, err := js.Consumer(ctx, stream, durable)
		if err != nil {
			return false
		}
		newest = newestFor(t, js, stream, c.CachedInfo().Config)
		return true
	})
	Poll(t, "consumer "+durable+" to catch up", func() bool {
		c, err := js.Consumer(ctx, stream, durable)
		if err != nil {
			return false
		}
		info, err := c.Info(ctx)
		return err == nil && info.AckFloor.Stream >= newest && info.NumAckPending == 0
	})
}

// newestFor is the sequence of the newest message in stream that a consumer
// with cfg would be given.
func newestFor(t testing.TB, js jetstream.JetStream, stream string, cfg jetstream.ConsumerConfig) uint64 {
	t.Helper()
	subjects := cfg.FilterSubjects
	if cfg.FilterSubject != "" {
		subjects = append(subjects, cfg.FilterSubject)
	}
	ctx := context.Background()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	if len(subjects) == 0 {
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.State.LastSeq
	}
	var newest uint64
	for _, subject := range subjects {
		if msg, err := s.GetLastMsgForSubject(ctx, subject); err == nil {
			newest = max(newest, msg.Sequence)
		}
	}
	return newest
}
