package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/outcome"
	"github.com/medic-sre/medic/pkg/retry"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// ErrNotReady means the bus has not yet reached NATS and set up its streams.
var ErrNotReady = errors.New("bus not ready")

var propagator = propagation.TraceContext{}

// Bus is one service's connection to NATS JetStream.
type Bus struct {
	nc     *nats.Conn
	js     jetstream.JetStream
	log    *slog.Logger
	source string
	tracer trace.Tracer
	ready  atomic.Bool
	limits StreamLimits
	// metrics count what the bus publishes and handles (see SetMetrics).
	metrics *Metrics
	// usageWarned holds, per stream, when its usage was last logged as
	// near its limit.
	usageWarned sync.Map
	// denied holds, per subject, the last permissions violation the server
	// reported for a publish there: the server answers a denied publish
	// with an asynchronous error, not on the publish itself.
	denied sync.Map
}

// Connect dials NATS without blocking on it: a server that is down is
// retried in the background, and Ready reports the state meanwhile. source is
// the CloudEvent source of what this service publishes ("medic/detector").
// opts are added to the connection's options; pass Credentials.Options to
// log in to a closed bus.
func Connect(url, source string, log *slog.Logger, opts ...nats.Option) (*Bus, error) {
	b := &Bus{log: log, source: source, tracer: otel.Tracer("medic/bus"), limits: DefaultStreamLimits(), metrics: NewMetrics(nil)}
	base := []nats.Option{
		nats.Name(source),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
		// A rejected password may be fixed (rotated) on the server while
		// the service waits, so keep trying rather than close for good.
		nats.IgnoreAuthErrorAbort(),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats connect failed", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("nats reconnected", "url", c.ConnectedUrl()) }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { b.asyncError(err) }),
	}
	nc, err := nats.Connect(url, append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("nats %s: %w (check NATS_URL)", url, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	b.nc, b.js = nc, js
	return b, nil
}

// SetStreamLimits sets the limits Setup gives the streams, in place of
// DefaultStreamLimits; call it before Setup.
func (b *Bus) SetStreamLimits(l StreamLimits) { b.limits = l }

// Setup ensures the streams exist, retrying with backoff until NATS answers
// or ctx ends. The bus is ready once it returns nil.
func (b *Bus) Setup(ctx context.Context) error {
	_, err := retry.Do(ctx, retry.SetupPolicy,
		func(int) error { return EnsureStreamsWith(ctx, b.js, b.limits) },
		func(err error, wait time.Duration) {
			b.log.Warn("nats not reachable yet; retrying", "err", err, "retry_in", wait.String())
		})
	if err != nil {
		return fmt.Errorf("nats setup: %w", err)
	}
	b.ready.Store(true)
	return nil
}

// Ready reports nil when streams are set up and the connection is up.
func (b *Bus) Ready() error {
	if !b.ready.Load() {
		return fmt.Errorf("%w: streams not set up", ErrNotReady)
	}
	if !b.nc.IsConnected() {
		return fmt.Errorf("%w: nats %s", ErrNotReady, b.nc.Status())
	}
	return nil
}

// JetStream exposes the JetStream handle, for KV buckets and admin.
func (b *Bus) JetStream() jetstream.JetStream { return b.js }

// Conn exposes the NATS connection.
func (b *Bus) Conn() *nats.Conn { return b.nc }

// Source is the CloudEvent source of this service's events.
func (b *Bus) Source() string { return b.source }

// Close drains the connection: pending publishes are flushed first.
func (b *Bus) Close() error {
	if b.nc.IsClosed() {
		return nil
	}
	return b.nc.Drain()
}

// Emit builds an event with a stable id and publishes it (see Publish),
// and returns what it published but the data.
func (b *Bus) Emit(ctx context.Context, id string, data events.Data) (events.Meta, error) {
	ev, err := events.NewWithID(id, b.source, data)
	if err != nil {
		return events.MetaOf(ev), outcome.Permanent(err)
	}
	err = b.publish(ctx, &ev) // NewWithID has validated it
	return events.MetaOf(ev), err
}

// Publish validates ev and publishes it on its type's subject, waiting for
// the stream's acknowledgement. The event id is the Nats-Msg-Id, so a retry
// within DuplicateWindow is dropped by the server; the trace context of ctx
// travels in the headers.
func (b *Bus) Publish(ctx context.Context, ev cloudevents.Event) error {
	if err := events.Validate(ev); err != nil {
		return outcome.Permanent(fmt.Errorf("publish %s: %w", ev.Type(), err))
	}
	return b.publish(ctx, &ev)
}

// publish publishes ev, adding the trace context to it.
func (b *Bus) publish(ctx context.Context, ev *cloudevents.Event) error {
	subject := events.Subject(ev.Type())
	ctx, span := b.tracer.Start(ctx, "publish "+ev.Type(), trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attribute.String("messaging.destination.name", subject), attribute.String("messaging.message.id", ev.ID())))
	defer span.End()
	msg, err := message(ctx, ev)
	if err != nil {
		return err
	}
	if _, err := b.js.PublishMsg(ctx, msg); err != nil {
		span.RecordError(err)
		return b.publishError(ev.Type(), subject, err)
	}
	b.published(ev.Type(), subject)
	return nil
}

// message is ev as a NATS message on its type's subject: the id as
// Nats-Msg-Id, and the trace context of ctx in the headers and (the
// CloudEvents distributed-tracing extension) in the event itself, so that
// the events table can link each event to its trace.
func message(ctx context.Context, ev *cloudevents.Event) (*nats.Msg, error) {
	if tp := traceparent(ctx); tp != "" {
		ev.SetExtension("traceparent", tp)
	}
	raw, err := events.Encode(*ev)
	if err != nil {
		return nil, outcome.Permanent(err)
	}
	msg := nats.NewMsg(events.Subject(ev.Type()))
	msg.Data = raw
	msg.Header.Set(HeaderMsgID, ev.ID())
	msg.Header.Set(HeaderContentType, "application/cloudevents+json")
	msg.Header.Set(HeaderEventType, ev.Type())
	propagator.Inject(ctx, headerCarrier(msg.Header))
	return msg, nil
}

// publishError names the permission the server denied, when it did.
func (b *Bus) publishError(eventType, subject string, err error) error {
	if denied, ok := b.denied.Load(subject); ok {
		return fmt.Errorf("publish %s on %s: %w (%w)", eventType, subject, denied.(error), err)
	}
	return fmt.Errorf("publish %s on %s: %w", eventType, subject, err)
}

func (b *Bus) published(eventType, subject string) {
	b.denied.Delete(subject)
	b.metrics.published.WithLabelValues(eventType).Inc()
}

func traceparent(ctx context.Context) string {
	c := propagation.MapCarrier{}
	propagator.Inject(ctx, c)
	return c["traceparent"]
}
