package bus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Handler processes one event. It returns nil once the event's effect is
// durable, Permanent(err) when no retry can help, or another error to have
// the event redelivered after a backoff.
type Handler func(ctx context.Context, ev cloudevents.Event) error

// BatchHandler processes a batch of valid events as one unit: all are acked
// when it returns nil, and all are retried or dead-lettered otherwise. To
// dead-letter only some events and ack the rest, return Reject(reasons).
type BatchHandler func(ctx context.Context, evs []cloudevents.Event) error

// ConsumerSpec configures a durable consumer. Zero values take defaults.
type ConsumerSpec struct {
	Stream         string
	Durable        string
	FilterSubjects []string
	// MaxDeliver bounds deliveries; the last failed one is dead-lettered.
	MaxDeliver int
	// AckWait is how long the server waits for an ack before redelivering;
	// a long handler keeps its message with progress signals.
	AckWait time.Duration
	// BatchSize and BatchLinger shape batches for ConsumeBatch: a batch is
	// handled when it is full or when no message came for BatchLinger.
	BatchSize   int
	BatchLinger time.Duration
	// RetryBase and RetryMax bound the redelivery backoff.
	RetryBase, RetryMax time.Duration
	// Prefetch is how many messages are pulled ahead of the handler. A
	// handler that runs long (a remediation) sets 1, so that a shutdown
	// does not start work that was merely buffered.
	Prefetch int
}

func (s *ConsumerSpec) defaults() {
	if s.MaxDeliver == 0 {
		s.MaxDeliver = 8
	}
	if s.AckWait == 0 {
		s.AckWait = 30 * time.Second
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
	if s.Prefetch == 0 {
		s.Prefetch = max(64, s.BatchSize*2)
	}
}

// Consumer is a running durable consumer.
type Consumer struct {
	it   jetstream.MessagesContext
	done chan struct{}
}

// Drain stops taking new messages, lets the ones already delivered finish,
// and waits for that (or for ctx).
func (c *Consumer) Drain(ctx context.Context) error {
	c.it.Drain()
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		c.it.Stop()
		return fmt.Errorf("drain consumer: %w", ctx.Err())
	}
}

// Consume runs h for each event, one at a time, in stream order.
func (b *Bus) Consume(ctx context.Context, spec ConsumerSpec, h Handler) (*Consumer, error) {
	spec.BatchSize = 1
	return b.consume(ctx, spec, func(ctx context.Context, msgs []delivery, r *runner) {
		for _, d := range msgs {
			r.settle(d, r.traced(ctx, d, func(ctx context.Context) error { return h(ctx, d.ev) }))
		}
	})
}

// ConsumeBatch runs h over batches of events; see BatchHandler.
func (b *Bus) ConsumeBatch(ctx context.Context, spec ConsumerSpec, h BatchHandler) (*Consumer, error) {
	return b.consume(ctx, spec, func(ctx context.Context, msgs []delivery, r *runner) {
		evs := make([]cloudevents.Event, len(msgs))
		for i, d := range msgs {
			evs[i] = d.ev
		}
		err := r.traced(ctx, msgs[0], func(ctx context.Context) error { return h(ctx, evs) })
		var rejected *RejectedError
		for _, d := range msgs {
			switch {
			case errors.As(err, &rejected):
				r.settle(d, Permanent(rejected.Reasons[d.ev.ID()]))
			default:
				r.settle(d, err)
			}
		}
	})
}

type delivery struct {
	msg jetstream.Msg
	ev  cloudevents.Event
}

type runner struct {
	b    *Bus
	spec ConsumerSpec
}

func (b *Bus) consume(ctx context.Context, spec ConsumerSpec, handle func(context.Context, []delivery, *runner)) (*Consumer, error) {
	spec.defaults()
	cons, err := b.js.CreateOrUpdateConsumer(ctx, spec.Stream, jetstream.ConsumerConfig{
		Durable:        spec.Durable,
		FilterSubjects: spec.FilterSubjects,
		AckPolicy:      jetstream.AckExplicitPolicy,
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		MaxDeliver:     spec.MaxDeliver,
		AckWait:        spec.AckWait,
		MaxAckPending:  max(1000, spec.BatchSize*4),
	})
	if err != nil {
		return nil, fmt.Errorf("consumer %s on %s: %w", spec.Durable, spec.Stream, err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(spec.Prefetch))
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", spec.Durable, err)
	}
	r := &runner{b: b, spec: spec}
	c := &Consumer{it: it, done: make(chan struct{})}
	// Handlers run on a context that shutdown does not cancel: a message
	// already taken is finished, then acked, before Drain returns.
	hctx := context.WithoutCancel(ctx)
	go func() {
		defer close(c.done)
		for {
			batch, open := r.next(it)
			if valid := r.validate(batch); len(valid) > 0 {
				start := time.Now()
				handle(hctx, valid, r)
				handleSeconds.WithLabelValues(spec.Durable).Observe(time.Since(start).Seconds())
			}
			if !open {
				return
			}
		}
	}()
	return c, nil
}

// next blocks for one message, then gathers more until the batch is full or
// the stream goes quiet for BatchLinger. open is false once drained.
func (r *runner) next(it jetstream.MessagesContext) (batch []jetstream.Msg, open bool) {
	for len(batch) < r.spec.BatchSize {
		var (
			msg jetstream.Msg
			err error
		)
		if len(batch) == 0 {
			msg, err = it.Next()
		} else {
			msg, err = it.Next(jetstream.NextMaxWait(r.spec.BatchLinger))
		}
		switch {
		case err == nil:
			batch = append(batch, msg)
		case errors.Is(err, jetstream.ErrMsgIteratorClosed):
			return batch, false
		case errors.Is(err, nats.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
			return batch, true
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

// validate decodes each message; what fails its schema is dead-lettered.
func (r *runner) validate(msgs []jetstream.Msg) []delivery {
	out := make([]delivery, 0, len(msgs))
	for _, m := range msgs {
		ev, err := events.Decode(m.Data())
		if err != nil {
			r.deadLetter(m, err.Error())
			continue
		}
		out = append(out, delivery{msg: m, ev: ev})
	}
	return out
}

// traced runs fn under a consumer span whose parent is the publisher's trace,
// sending progress signals so a long handler keeps its message.
func (r *runner) traced(ctx context.Context, d delivery, fn func(context.Context) error) error {
	ctx = propagator.Extract(ctx, headerCarrier(d.msg.Headers()))
	ctx, span := r.b.tracer.Start(ctx, "process "+d.ev.Type(), trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attribute.String("messaging.consumer.group.name", r.spec.Durable),
			attribute.String("messaging.message.id", d.ev.ID())))
	defer span.End()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		t := time.NewTicker(r.spec.AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				_ = d.msg.InProgress()
			}
		}
	}()
	err := fn(ctx)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	return err
}

// settle maps a handler result to the message's fate: ack, a delayed
// redelivery, or the dead-letter stream.
func (r *runner) settle(d delivery, err error) {
	log := r.b.log.With("consumer", r.spec.Durable, "event_id", d.ev.ID(), "type", d.ev.Type())
	if err == nil {
		if aerr := d.msg.Ack(); aerr != nil {
			log.Warn("ack failed; the event will be redelivered and handled idempotently", "err", aerr)
		}
		handledTotal.WithLabelValues(r.spec.Durable, "ack").Inc()
		return
	}
	if IsPermanent(err) {
		log.Error("event cannot be processed; dead-lettering it", "err", err)
		r.deadLetter(d.msg, err.Error())
		return
	}
	n := numDelivered(d.msg)
	if n >= uint64(r.spec.MaxDeliver) {
		log.Error("event failed on its last delivery; dead-lettering it", "err", err, "deliveries", n)
		r.deadLetter(d.msg, fmt.Sprintf("failed after %d deliveries: %v", n, err))
		return
	}
	delay := Backoff(n, r.spec.RetryBase, r.spec.RetryMax)
	log.Warn("event handling failed; will retry", "err", err, "deliveries", n, "retry_in", delay.String())
	_ = d.msg.NakWithDelay(delay)
	handledTotal.WithLabelValues(r.spec.Durable, "retry").Inc()
}

func numDelivered(m jetstream.Msg) uint64 {
	md, err := m.Metadata()
	if err != nil {
		return 1
	}
	return md.NumDelivered
}

// deadLetter copies the message, with the reason in its headers, to the
// dead-letter stream and then terminates it. If the copy cannot be stored
// the message is redelivered instead, so nothing is lost.
func (r *runner) deadLetter(m jetstream.Msg, reason string) {
	out := nats.NewMsg("medic.dlq." + m.Subject())
	out.Data = m.Data()
	for k, v := range m.Headers() {
		if k != HeaderMsgID {
			out.Header[k] = v
		}
	}
	var seq uint64
	if md, err := m.Metadata(); err == nil {
		seq = md.Sequence.Stream
	}
	out.Header.Set(HeaderMsgID, fmt.Sprintf("dlq:%s:%s:%d", r.spec.Stream, r.spec.Durable, seq))
	out.Header.Set(HeaderDLQReason, reason)
	out.Header.Set(HeaderDLQStream, r.spec.Stream)
	out.Header.Set(HeaderDLQConsumer, r.spec.Durable)
	out.Header.Set(HeaderDLQSubject, m.Subject())
	out.Header.Set(HeaderDLQDeliveries, strconv.FormatUint(numDelivered(m), 10))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := r.b.js.PublishMsg(ctx, out); err != nil {
		r.b.log.Error("dead-letter publish failed; message will be redelivered", "consumer", r.spec.Durable, "err", err)
		_ = m.NakWithDelay(r.spec.RetryMax)
		return
	}
	_ = m.TermWithReason(truncate(reason, 200))
	handledTotal.WithLabelValues(r.spec.Durable, "dead_letter").Inc()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
