package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/services/correlator/internal/incident"
	"github.com/medic-sre/medic/services/correlator/internal/state"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Durable is the consumer that copies incident state into the incidents
// table. It reads the stream behind the incidents KV bucket, where every
// save of an incident is one message, so that every change reaches the
// table, including those that publish no event (an analysis, a failed
// remediation, an escalation), and the incident lifecycle never waits for
// ClickHouse.
const Durable = "correlator-history"

// Follow settings: a batch is written when it holds batchSize states or no
// save came for batchLinger; a failed write is retried after a backoff
// between retryBase and retryMax, without limit.
const (
	batchSize   = 100
	batchLinger = 100 * time.Millisecond
	retryBase   = 250 * time.Millisecond
	retryMax    = 15 * time.Second
	ackWait     = 30 * time.Second
)

// kvOperation is the header JetStream KV marks deletes and purges with.
const kvOperation = "KV-Operation"

// Follower writes each saved incident state as a row of the incidents
// table, acking a save only once its row is written: while ClickHouse is
// down the saves wait in the stream (redelivered with backoff, never
// dead-lettered) and catch up once it is back. The KV bucket keeps one
// revision per incident, so saves made during an outage fold into the
// latest, which is the row that FINAL shows anyway.
type Follower struct {
	log  *slog.Logger
	w    *Writer
	it   jetstream.MessagesContext
	done chan struct{}
}

// Follow starts the Follower on js, writing through w.
func Follow(ctx context.Context, log *slog.Logger, js jetstream.JetStream, w *Writer) (*Follower, error) {
	stream := "KV_" + state.BucketIncidents
	cons, err := js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{
		Durable: Durable, AckPolicy: jetstream.AckExplicitPolicy, DeliverPolicy: jetstream.DeliverAllPolicy,
		MaxDeliver: -1, AckWait: ackWait, MaxAckPending: 4 * batchSize,
	})
	if err != nil {
		return nil, fmt.Errorf("consumer %s on %s: %w", Durable, stream, err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(2*batchSize), jetstream.PullExpiry(10*time.Second))
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", Durable, err)
	}
	f := &Follower{log: log.With("consumer", Durable), w: w, it: it, done: make(chan struct{})}
	// Writes run on a context that shutdown does not cancel: a batch taken
	// is written, then acked, before Drain returns.
	go f.run(context.WithoutCancel(ctx))
	return f, nil
}

// Drain stops taking saves, finishes the batch in hand, and waits for that
// (or for ctx).
func (f *Follower) Drain(ctx context.Context) error {
	f.it.Drain()
	select {
	case <-f.done:
		return nil
	case <-ctx.Done():
		f.it.Stop()
		return fmt.Errorf("drain consumer %s: %w", Durable, ctx.Err())
	}
}

func (f *Follower) run(ctx context.Context) {
	defer close(f.done)
	for {
		batch, open := f.next()
		if len(batch) > 0 {
			f.write(ctx, batch)
		}
		if !open {
			return
		}
	}
}

// next blocks for one save, then gathers more until the batch is full or
// saves pause for batchLinger. open is false once drained or stopped.
func (f *Follower) next() (batch []jetstream.Msg, open bool) {
	for len(batch) < batchSize {
		wait := batchLinger
		if len(batch) == 0 {
			wait = 2 * time.Second
		}
		msg, err := f.it.Next(jetstream.NextMaxWait(wait))
		switch {
		case err == nil:
			batch = append(batch, msg)
		case errors.Is(err, jetstream.ErrMsgIteratorClosed):
			return batch, false
		case errors.Is(err, nats.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
			if len(batch) > 0 {
				return batch, true
			}
		default:
			// Heartbeat misses and reconnects: the iterator recovers.
			f.log.Warn("consumer fetch", "err", err)
			if len(batch) > 0 {
				return batch, true
			}
		}
	}
	return batch, true
}

// write inserts the batch's states as rows and acks it, or has the whole
// batch redelivered after a backoff.
func (f *Follower) write(ctx context.Context, batch []jetstream.Msg) {
	var (
		rows [][]any
		keep []jetstream.Msg
	)
	for _, m := range batch {
		st, ok := f.decode(m)
		if !ok {
			continue
		}
		rows, keep = append(rows, Row(st)), append(keep, m)
	}
	if len(rows) == 0 {
		return
	}
	if err := f.w.store.Insert(ctx, Table, columns, rows); err != nil {
		delay := bus.Backoff(deliveries(keep[0]), retryBase, retryMax)
		f.log.Warn("incident rows not written; retrying until ClickHouse takes them", "rows", len(rows), "err", err, "retry_in", delay.String())
		for _, m := range keep {
			_ = m.NakWithDelay(delay)
		}
		return
	}
	for _, m := range keep {
		if err := m.Ack(); err != nil {
			f.log.Warn("ack failed; the row will be written again, which folds by version", "err", err)
		}
	}
}

// decode reads a saved state. A deletion, or a value that is no state
// (which no retry can fix, and the correlator reports when it loads it),
// is acked and skipped.
func (f *Follower) decode(m jetstream.Msg) (*incident.State, bool) {
	if op := m.Headers().Get(kvOperation); op != "" && op != "PUT" {
		_ = m.Ack()
		return nil, false
	}
	var st incident.State
	if err := json.Unmarshal(m.Data(), &st); err != nil || st.ID == "" {
		f.log.Error("incident state that does not decode; no row written", "subject", m.Subject(), "err", err)
		_ = m.Term()
		return nil, false
	}
	return &st, true
}

func deliveries(m jetstream.Msg) uint64 {
	md, err := m.Metadata()
	if err != nil {
		return 1
	}
	return md.NumDelivered
}
