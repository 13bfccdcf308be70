package archive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DurableIncidents is the consumer that copies incident state into the
// incidents table. It reads the stream behind the incidents KV bucket, where every
// save of an incident is one message, so that every change reaches the
// table, including those that publish no event (an analysis, a failed
// remediation, an escalation), and the incident lifecycle never waits for
// ClickHouse.
const DurableIncidents = "archiver-incidents"

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

// IncidentFollower writes each saved incident state as a row of the incidents
// table, acking a save only once its row is written: while ClickHouse is
// down the saves wait in the stream (redelivered with backoff, never
// dead-lettered) and catch up once it is back. The KV bucket keeps one
// revision per incident, so saves made during an outage fold into the
// latest, which is the row that FINAL shows anyway.
type IncidentFollower struct {
	log  *slog.Logger
	w    *IncidentWriter
	stop chan struct{}
	done chan struct{}

	mu      sync.Mutex
	it      jetstream.MessagesContext
	stopped bool
}

// FollowIncidents starts an IncidentFollower on js, writing through w. The
// correlator creates the bucket: until it exists the follower waits for
// it, retrying with backoff, so that the archiver may start first.
func FollowIncidents(ctx context.Context, log *slog.Logger, js jetstream.JetStream, w *IncidentWriter) (*IncidentFollower, error) {
	f := &IncidentFollower{log: log.With("consumer", DurableIncidents), w: w, stop: make(chan struct{}), done: make(chan struct{})}
	it, err := f.open(ctx, js)
	switch {
	case err == nil:
		f.it = it
		// Writes run on a context that shutdown does not cancel: a batch
		// taken is written, then acked, before Drain returns.
		go f.run(context.WithoutCancel(ctx))
	case errors.Is(err, jetstream.ErrStreamNotFound):
		f.log.Info("waiting for the correlator to create its incidents bucket", "bucket", IncidentsBucket)
		go f.await(ctx, js)
	default:
		return nil, err
	}
	return f, nil
}

func (f *IncidentFollower) open(ctx context.Context, js jetstream.JetStream) (jetstream.MessagesContext, error) {
	stream := "KV_" + IncidentsBucket
	cons, err := js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{
		Durable: DurableIncidents, AckPolicy: jetstream.AckExplicitPolicy, DeliverPolicy: jetstream.DeliverAllPolicy,
		MaxDeliver: -1, AckWait: ackWait, MaxAckPending: 4 * batchSize,
	})
	if err != nil {
		return nil, fmt.Errorf("consumer %s on %s: %w", DurableIncidents, stream, err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(2*batchSize), jetstream.PullExpiry(10*time.Second))
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", DurableIncidents, err)
	}
	return it, nil
}

// await opens the consumer once the bucket exists, then runs it, unless
// Drain or the end of ctx comes first.
func (f *IncidentFollower) await(ctx context.Context, js jetstream.JetStream) {
	for n := uint64(1); ; n++ {
		select {
		case <-f.stop:
			close(f.done)
			return
		case <-ctx.Done():
			close(f.done)
			return
		case <-time.After(bus.Backoff(n, retryBase, retryMax)):
		}
		it, err := f.open(ctx, js)
		if err != nil {
			if !errors.Is(err, jetstream.ErrStreamNotFound) {
				f.log.Warn("incidents consumer not opened yet; retrying", "err", err)
			}
			continue
		}
		f.mu.Lock()
		stopped := f.stopped
		f.it = it
		f.mu.Unlock()
		if stopped {
			it.Drain()
		}
		f.run(context.WithoutCancel(ctx))
		return
	}
}

// Drain stops taking saves, finishes the batch in hand, and waits for that
// (or for ctx).
func (f *IncidentFollower) Drain(ctx context.Context) error {
	f.mu.Lock()
	it := f.it
	if !f.stopped {
		f.stopped = true
		close(f.stop)
	}
	f.mu.Unlock()
	if it != nil {
		it.Drain()
	}
	select {
	case <-f.done:
		return nil
	case <-ctx.Done():
		if it != nil {
			it.Stop()
		}
		return fmt.Errorf("drain consumer %s: %w", DurableIncidents, ctx.Err())
	}
}

func (f *IncidentFollower) run(ctx context.Context) {
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
func (f *IncidentFollower) next() (batch []jetstream.Msg, open bool) {
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
func (f *IncidentFollower) write(ctx context.Context, batch []jetstream.Msg) {
	var (
		rows [][]any
		keep []jetstream.Msg
	)
	for _, m := range batch {
		st, ok := f.decode(m)
		if !ok {
			continue
		}
		rows, keep = append(rows, IncidentRow(st)), append(keep, m)
	}
	if len(rows) == 0 {
		return
	}
	if err := f.w.store.Insert(ctx, IncidentsTable, incidentColumns, rows); err != nil {
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
func (f *IncidentFollower) decode(m jetstream.Msg) (*IncidentRecord, bool) {
	if op := m.Headers().Get(kvOperation); op != "" && op != "PUT" {
		_ = m.Ack()
		return nil, false
	}
	var st IncidentRecord
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
