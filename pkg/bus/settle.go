package bus

import (
	"context"
	"fmt"
	"time"

	"github.com/medic-sre/medic/pkg/outcome"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// traced runs fn under a consumer span whose parent is the trace of the
// first message, sending progress signals for every message so that a long
// handler keeps them all.
func (r *runner) traced(ctx context.Context, ds []delivery, fn func(context.Context) error) error {
	d := ds[0]
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
				for _, d := range ds {
					_ = d.msg.InProgress()
				}
			}
		}
	}()
	err := safely(ctx, fn)
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
		r.failures.forget(d.msg)
		if aerr := d.msg.Ack(); aerr != nil {
			log.Warn("ack failed; the event will be redelivered and handled idempotently", "err", aerr)
		}
		r.b.metrics.handled.WithLabelValues(r.spec.Durable, "ack").Inc()
		return
	}
	if outcome.IsPermanent(err) {
		log.Error("event cannot be processed; dead-lettering it", "err", err)
		r.deadLetter(d.msg, err.Error())
		return
	}
	if delay, ok := outcome.RetryDelay(err); ok {
		log.Debug("event is early; redelivering it later", "reason", err, "retry_in", delay.String())
		_ = d.msg.NakWithDelay(delay)
		r.b.metrics.handled.WithLabelValues(r.spec.Durable, "later").Inc()
		return
	}
	n := numDelivered(d.msg)
	if herr := r.healthy(); herr != nil {
		// Deliveries during an outage do not count toward MaxDeliver.
		delay := Backoff(n, r.spec.RetryBase, r.spec.RetryMax)
		log.Warn("event handling failed while a dependency is down; will retry until it is back", "err", err, "dependency", herr, "retry_in", delay.String())
		_ = d.msg.NakWithDelay(delay)
		r.b.metrics.handled.WithLabelValues(r.spec.Durable, "retry").Inc()
		return
	}
	if failures := r.failures.add(d.msg); failures >= r.spec.MaxDeliver {
		log.Error("event failed on its last delivery; dead-lettering it", "err", err, "deliveries", n)
		r.deadLetter(d.msg, fmt.Sprintf("failed after %d deliveries: %v", failures, err))
		return
	}
	delay := Backoff(n, r.spec.RetryBase, r.spec.RetryMax)
	log.Warn("event handling failed; will retry", "err", err, "deliveries", n, "retry_in", delay.String())
	_ = d.msg.NakWithDelay(delay)
	r.b.metrics.handled.WithLabelValues(r.spec.Durable, "retry").Inc()
}

func numDelivered(m jetstream.Msg) uint64 {
	md, err := m.Metadata()
	if err != nil {
		return 1
	}
	return md.NumDelivered
}

func (r *runner) healthy() error {
	if r.spec.Healthy == nil {
		return nil
	}
	return r.spec.Healthy()
}

// safely runs fn, turning a panic into a permanent error: the message is
// dead-lettered with the panic as its reason, rather than crashing the
// service and coming back after every restart.
func safely(ctx context.Context, fn func(context.Context) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = outcome.Permanent(fmt.Errorf("handler panicked: %v", p))
		}
	}()
	return fn(ctx)
}
