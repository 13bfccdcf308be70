package bus

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/outcome"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ConsumerSpec configures a durable consumer. Zero values take defaults.
type ConsumerSpec struct {
	Stream         string
	Durable        string
	FilterSubjects []string
	// MaxDeliver bounds the deliveries of a failing message while the
	// service is healthy; the last one is dead-lettered.
	MaxDeliver int
	// Healthy reports whether the service's dependencies (ClickHouse, NATS)
	// answer. While it fails, a transient error is retried without limit and
	// never dead-lettered: an outage must not empty the streams into the
	// dead-letter stream. Nil means always healthy.
	Healthy func() error
	// AckWait is how long the server waits for an ack before redelivering,
	// DefaultAckWait when zero. A handler that runs long keeps its message:
	// the runner signals progress every AckWait/3 while it runs. Messages
	// that wait in the prefetch buffer get no such signal, so a slow
	// handler also sets a small Prefetch.
	AckWait time.Duration
	// BatchSize and BatchLinger shape batches for ConsumeItems: a batch is
	// handled when it is full or when no message came for BatchLinger.
	BatchSize   int
	BatchLinger time.Duration
	// RetryBase and RetryMax bound the redelivery backoff.
	RetryBase, RetryMax time.Duration
	// NATSOnly declares that the handler needs NATS alone (no ClickHouse).
	// The service runtime (pkg/service) then starts the consumer as soon as
	// NATS is ready, even while ClickHouse is unreachable, and by default
	// counts only NATS as its health. Detection and the incident lifecycle
	// must not wait for ClickHouse. The bus itself ignores it.
	NATSOnly bool
	// Prefetch is how many messages are pulled ahead of the handler. A
	// handler that runs long (a remediation) sets 1, so that a shutdown
	// does not start work that was merely buffered. A batch consumer that
	// sets none is bounded by PrefetchBytes instead (see prefetch).
	Prefetch int
	// PrefetchBytes bounds the bytes a batch consumer that sets no
	// Prefetch pulls ahead, DefaultPrefetchBytes when zero.
	PrefetchBytes int
}

// DefaultPrefetchBytes is the most a batch consumer buffers ahead of its
// handler. The client drops what a subscription buffers past its pending
// limit (64 MiB) as a slow consumer, and the server redelivers it after
// the messages that came next: with 1,000 messages pulled ahead, telemetry
// events of 1,000 points (about 150 KiB each) reached the detector out of
// order, and a third of their points were evaluated as late. Half the
// limit leaves room for the batch being read.
const DefaultPrefetchBytes = 32 << 20

// prefetch is how the consumer pulls ahead: by bytes for a batch consumer
// that sets no Prefetch, whose messages may be large telemetry events (the
// server's MaxAckPending still bounds their number), else by count. Pulled
// by bytes, nats.go sizes the consumer's channel for a million messages:
// 8 MB of pointers a batch consumer, the price of never dropping one.
func (s ConsumerSpec) prefetch() jetstream.PullMessagesOpt {
	if s.Prefetch == 0 && s.BatchSize > 1 {
		return jetstream.PullMaxBytes(cmp.Or(s.PrefetchBytes, DefaultPrefetchBytes))
	}
	return jetstream.PullMaxMessages(cmp.Or(s.Prefetch, max(64, s.BatchSize*2)))
}

// DefaultAckWait is the AckWait of a consumer that sets none. It is what a
// message waits after its consumer's process died before another process
// gets it, so it adds straight to the time to recover: a killed rca with
// 30 s here took 79 s to recover instead of 21 s. It is short because the
// runner keeps a running handler's messages with progress signals.
const DefaultAckWait = 10 * time.Second

func (s *ConsumerSpec) defaults() {
	if s.MaxDeliver == 0 {
		s.MaxDeliver = 8
	}
	if s.AckWait == 0 {
		s.AckWait = DefaultAckWait
	}
	if s.BatchSize == 0 {
		s.BatchSize = 1
	}
	if s.BatchLinger == 0 {
		s.BatchLinger = 100 * time.Millisecond
	}
	if s.RetryBase == 0 {
		s.RetryBase = 250 * time.Millisecond
	}
	if s.RetryMax == 0 {
		s.RetryMax = 15 * time.Second
	}
}

// Consumer is a running durable consumer.
type Consumer struct {
	name     string
	cons     jetstream.Consumer
	it       jetstream.MessagesContext
	done     chan struct{}
	draining atomic.Bool
	// lost is the last answer of the server about the consumer: nil while
	// it exists, an error once the server said it does not. A background
	// check refreshes it (see watch), so that health probes never wait for
	// the server.
	lost atomic.Pointer[error]
}

// healthEvery is how often a consumer asks the server whether it still
// exists, and healthTimeout how long it waits for the answer.
const (
	healthEvery   = 2 * time.Second
	healthTimeout = 2 * time.Second
)

// Name is the consumer's durable name.
func (c *Consumer) Name() string { return c.name }

// Err reports nil while the consumer runs or drains on request, and an
// error once it stopped by itself or the server said it no longer has it
// (deleted by an operator): a service in that state processes nothing. It
// answers from state a background check keeps, at once: a server that does
// not answer says nothing about the consumer, so Err then keeps the last
// answer rather than wait.
func (c *Consumer) Err() error {
	select {
	case <-c.done:
		if !c.draining.Load() {
			return fmt.Errorf("consumer %s stopped; restart the service", c.name)
		}
		return nil
	default:
	}
	if p := c.lost.Load(); p != nil {
		return *p
	}
	return nil
}

// watch refreshes lost every healthEvery until the consumer's loop ends.
func (c *Consumer) watch() {
	t := time.NewTicker(healthEvery)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
			c.check()
		}
	}
}

// check asks the server about the consumer once, within healthTimeout.
func (c *Consumer) check() {
	ctx, cancel := context.WithTimeout(context.Background(), healthTimeout)
	defer cancel()
	_, err := c.cons.Info(ctx)
	switch {
	case err == nil:
		c.lost.Store(nil)
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		lost := fmt.Errorf("consumer %s no longer exists on the server; restart the service to recreate it", c.name)
		c.lost.Store(&lost)
	}
}

// Done is closed once the consumer's loop has ended, drained or not.
func (c *Consumer) Done() <-chan struct{} { return c.done }

// Drain stops taking new messages, lets the handler running finish, hands
// messages buffered but not started back to the server for the next
// instance, and waits for that (or for ctx).
func (c *Consumer) Drain(ctx context.Context) error {
	c.draining.Store(true)
	c.it.Drain()
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		c.it.Stop()
		return fmt.Errorf("drain consumer %s: %w", c.name, ctx.Err())
	}
}

// batch runs fn for msgs as one unit and settles each message by its
// result: an outcome.RejectedError dead-letters the messages it names and
// acks the rest.
func (r *runner) batch(ctx context.Context, msgs []delivery, fn func(context.Context) error) {
	err := r.traced(ctx, msgs, fn)
	var rejected *outcome.RejectedError
	for _, d := range msgs {
		switch {
		case errors.As(err, &rejected):
			r.settle(d, outcome.Permanent(rejected.Reasons[d.ev.ID()]))
		default:
			r.settle(d, err)
		}
	}
}

type delivery struct {
	msg jetstream.Msg
	ev  cloudevents.Event
	// data is the event's data as its Go type when checking it decoded it
	// (telemetry, see events.Read), nil otherwise.
	data events.Data
}

type runner struct {
	b        *Bus
	cons     jetstream.Consumer
	spec     ConsumerSpec
	failures *failureCounts
}

func (b *Bus) consume(ctx context.Context, spec ConsumerSpec, handle func(context.Context, []delivery, *runner)) (*Consumer, error) {
	spec.defaults()
	cons, err := b.js.CreateOrUpdateConsumer(ctx, spec.Stream, jetstream.ConsumerConfig{
		Durable:        spec.Durable,
		FilterSubjects: spec.FilterSubjects,
		AckPolicy:      jetstream.AckExplicitPolicy,
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		// The server redelivers without limit; settle decides when a
		// message is dead-lettered, so that an outage does not count.
		MaxDeliver:    -1,
		AckWait:       spec.AckWait,
		MaxAckPending: max(1000, spec.BatchSize*4),
	})
	if err != nil {
		return nil, fmt.Errorf("consumer %s on %s: %w", spec.Durable, spec.Stream, err)
	}
	// A short expiry and heartbeat make a lost consumer (deleted, or its
	// server gone) show within seconds rather than a minute.
	it, err := cons.Messages(spec.prefetch(), jetstream.PullExpiry(10*time.Second), jetstream.PullHeartbeat(3*time.Second))
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", spec.Durable, err)
	}
	r := &runner{b: b, cons: cons, spec: spec, failures: newFailureCounts()}
	c := &Consumer{name: spec.Durable, cons: cons, it: it, done: make(chan struct{})}
	// Handlers run on a context that shutdown does not cancel: a message
	// already taken is finished, then acked, before Drain returns.
	hctx := context.WithoutCancel(ctx)
	go c.watch()
	run := func(valid []delivery) {
		if c.draining.Load() {
			// Taken from the client's buffer after the drain began: hand
			// them back rather than start them. Under load the buffer can
			// hold many batches (a batch consumer prefetches up to 32 MiB), and
			// handling them all ran past the shutdown timeout.
			for _, d := range valid {
				_ = d.msg.Nak()
			}
			r.b.metrics.handled.WithLabelValues(spec.Durable, "returned").Add(float64(len(valid)))
			return
		}
		start := time.Now()
		handle(hctx, valid, r)
		r.b.metrics.handleSeconds.WithLabelValues(spec.Durable).Observe(time.Since(start).Seconds())
	}
	if spec.BatchSize > 1 {
		go r.readAhead(it, run, c.done)
	} else {
		go r.oneAfterAnother(it, run, c.done)
	}
	return c, nil
}

// oneAfterAnother fetches a batch, handles it, and only then fetches the
// next: a consumer of single events, so that a shutdown does not start a
// long handler (a remediation) on a message fetched while the last ran.
func (r *runner) oneAfterAnother(it jetstream.MessagesContext, run func([]delivery), done chan struct{}) {
	defer close(done)
	for {
		batch, open := r.next(it)
		if valid := r.validate(batch); len(valid) > 0 {
			run(valid)
		}
		if !open {
			return
		}
	}
}

// readAhead fetches and checks the next batch while the handler runs on
// this one. The archiver decoded, then inserted, one batch after another,
// leaving ClickHouse idle while it decoded and itself idle while
// ClickHouse inserted (issue 8). The batch read ahead is handled, and only
// then acked, like any other; it gets no progress signal while it waits,
// so it waits for one handler run at most.
func (r *runner) readAhead(it jetstream.MessagesContext, run func([]delivery), done chan struct{}) {
	batches := make(chan []delivery, 1)
	go func() {
		defer close(batches)
		for {
			batch, open := r.next(it)
			if valid := r.validate(batch); len(valid) > 0 {
				batches <- valid
			}
			if !open {
				return
			}
		}
	}()
	defer close(done)
	for valid := range batches {
		run(valid)
	}
}

// next blocks for one message, then gathers more until the batch is full or
// the stream goes quiet for BatchLinger. open is false once drained.
func (r *runner) next(it jetstream.MessagesContext) (batch []jetstream.Msg, open bool) {
	for len(batch) < r.spec.BatchSize {
		var (
			msg jetstream.Msg
			err error
		)
		wait := r.spec.BatchLinger
		if len(batch) == 0 {
			wait = idleCheck
		}
		msg, err = it.Next(jetstream.NextMaxWait(wait))
		switch {
		case err == nil:
			batch = append(batch, msg)
		case errors.Is(err, jetstream.ErrMsgIteratorClosed):
			return batch, false
		case errors.Is(err, jetstream.ErrConsumerDeleted), errors.Is(err, jetstream.ErrConsumerNotFound):
			r.gone(it, err)
			return batch, false
		case errors.Is(err, nats.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
			if len(batch) > 0 {
				return batch, true
			}
			// Idle: the iterator does not always report a consumer deleted
			// on the server, so ask.
			if _, ierr := r.cons.Info(context.Background()); errors.Is(ierr, jetstream.ErrConsumerNotFound) {
				r.gone(it, ierr)
				return nil, false
			}
		default:
			// Heartbeat misses and reconnects surface here; the iterator
			// recovers by itself, so log and keep going.
			r.b.log.Warn("consumer fetch", "consumer", r.spec.Durable, "err", err)
			if len(batch) > 0 {
				return batch, true
			}
		}
	}
	return batch, true
}

// idleCheck is how long the loop waits for a message before it checks
// that its consumer still exists.
const idleCheck = 2 * time.Second

// gone stops a loop whose consumer no longer exists on the server.
func (r *runner) gone(it jetstream.MessagesContext, err error) {
	r.b.log.Error("consumer is gone; restart the service to recreate it", "consumer", r.spec.Durable, "err", err)
	it.Stop()
}

// validate decodes and checks each message (events.Read); what fails its
// check, or arrived on a subject that is not its type's, is dead-lettered
// with the reason. The subject check keeps
// a valid event of one type from being taken for another by a consumer that
// reads a stream by subject (a change.recorded sent on the telemetry
// subject once landed among the changes the RCA reads).
func (r *runner) validate(msgs []jetstream.Msg) []delivery {
	out := make([]delivery, 0, len(msgs))
	for _, m := range msgs {
		ev, data, err := events.Read(m.Data())
		if err != nil {
			r.deadLetter(m, err.Error())
			continue
		}
		if want := events.Subject(ev.Type()); m.Subject() != want {
			r.deadLetter(m, fmt.Sprintf("%s: %s arrived on subject %s; its subject is %s", events.ErrInvalid, ev.Type(), m.Subject(), want))
			continue
		}
		out = append(out, delivery{msg: m, ev: ev, data: data})
	}
	return out
}
