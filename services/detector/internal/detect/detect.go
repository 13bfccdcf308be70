// Package detect is the detector's batch handler: it makes telemetry
// durable in ClickHouse, runs it through the rule engine, and publishes the
// anomalies that start or end.
package detect

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/medic-sre/medic/pkg/archive"
	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/store"
	"github.com/medic-sre/medic/services/detector/internal/engine"
)

// Consumer is the detector's durable consumer of telemetry.
func Consumer() bus.ConsumerSpec {
	return bus.ConsumerSpec{
		Stream: bus.StreamTelemetry, Durable: "detector", BatchSize: 500,
		FilterSubjects: []string{events.Subject(events.TypeTelemetryPoints)},
	}
}

// Publisher publishes an event with a stable id (bus.Bus.Emit).
type Publisher interface {
	Emit(ctx context.Context, id string, data events.Data) (cloudevents.Event, error)
}

// Firing keeps the alerts that are firing across restarts (firing.Store).
type Firing interface {
	Put(ctx context.Context, a events.AnomalyDetected) error
	Delete(ctx context.Context, fingerprint string) error
}

// Options are the detector's settings beyond its connections.
type Options struct {
	// Firing (required) records each alert when it fires and forgets it
	// when it resolves.
	Firing Firing
	// MaxClockSkew is how far past the detector's clock a point may be
	// stamped and still be evaluated (DefaultMaxClockSkew if 0).
	MaxClockSkew time.Duration
}

// DefaultMaxClockSkew is the default of Options.MaxClockSkew. It is small:
// a point stamped ahead moves event time forward for its own series, and
// the evaluations it triggers cannot be redone when the real data arrives.
const DefaultMaxClockSkew = 5 * time.Second

// Detector owns the engine. Its windows are in memory only: a restarted
// detector starts them empty and rebuilds them from new telemetry. Its
// firing alerts are kept in Options.Firing, and Restore puts them back.
type Detector struct {
	log     *slog.Logger
	store   *store.Store
	pub     Publisher
	firing  Firing
	maxSkew time.Duration
	now     func() time.Time
	mu      sync.Mutex
	engine  *engine.Engine
	fed     *recent
	// outbox holds emissions not yet published and recorded: a batch whose
	// publish failed is redelivered, but its points are already in the
	// engine, so the engine would not emit them again.
	outbox []engine.Emission
}

// New makes a detector over an engine.
func New(log *slog.Logger, st *store.Store, pub Publisher, e *engine.Engine, o Options) *Detector {
	if o.MaxClockSkew <= 0 {
		o.MaxClockSkew = DefaultMaxClockSkew
	}
	return &Detector{log: log, store: st, pub: pub, firing: o.Firing, maxSkew: o.MaxClockSkew, now: time.Now,
		engine: e, fed: newRecent(100_000)}
}

// Restore hands the engine the alerts that were firing when the previous
// detector stopped. What it emits at once (alerts no rule can hold any
// more) is published with the next batch.
func (d *Detector) Restore(firing []events.AnomalyDetected) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.outbox = append(d.outbox, d.engine.Restore(firing, d.now())...)
}

// Handle processes one batch: (1) write the points to ClickHouse, (2) feed
// them to the engine, (3) publish what the engine emits. Any error leaves
// the batch unacked, to be redelivered; events that are not telemetry are
// dead-lettered and the rest acked.
func (d *Detector) Handle(ctx context.Context, evs []cloudevents.Event) error {
	evs, rejected := telemetryOnly(evs)
	if err := archive.WritePoints(ctx, d.store, evs); err != nil {
		return fmt.Errorf("write %d telemetry events to the metrics table: %w", len(evs), err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.feed(evs)
	d.outbox = append(d.outbox, d.engine.Evaluate(d.now())...)
	seriesGauge.Set(float64(d.engine.Series()))
	if err := d.flush(ctx); err != nil {
		return err
	}
	return bus.Reject(rejected)
}

// telemetryOnly sets aside events of other types, with the reason to
// dead-letter them. The consumer filters on the telemetry subject, so only
// a misbehaving publisher sends them.
func telemetryOnly(evs []cloudevents.Event) ([]cloudevents.Event, map[string]error) {
	out := evs[:0:0]
	rejected := map[string]error{}
	for _, ev := range evs {
		if ev.Type() != events.TypeTelemetryPoints {
			rejected[ev.ID()] = fmt.Errorf("the detector takes %s on the telemetry subject, not %s", events.TypeTelemetryPoints, ev.Type())
			continue
		}
		out = append(out, ev)
	}
	return out, rejected
}

// feed gives the engine the points of events it has not seen yet, so that a
// redelivered batch does not count its points twice. Points stamped too far
// ahead of the detector's clock, and points whose value is not finite, are
// archived but not evaluated.
func (d *Detector) feed(evs []cloudevents.Event) {
	notAfter := d.now().Add(d.maxSkew).UnixNano()
	var rejected engine.Rejected
	for _, ev := range evs {
		if !d.fed.add(ev.ID()) {
			continue
		}
		tp, err := events.As[events.TelemetryPoints](ev)
		if err != nil {
			d.log.Warn("telemetry event does not decode; its points are archived but not evaluated", "event_id", ev.ID(), "err", err)
			continue
		}
		n := d.engine.Observe(tp.Points, notAfter)
		rejected.Future += n.Future
		rejected.NotFinite += n.NotFinite
		pointsTotal.Add(float64(len(tp.Points) - n.Total()))
	}
	// Logged once per batch: a sender whose clock runs ahead would otherwise
	// log a line per point.
	if rejected.Future > 0 {
		rejectedTotal.WithLabelValues(ReasonFuture).Add(float64(rejected.Future))
		d.log.Warn("points stamped after the detector's clock plus --max-clock-skew were archived but not evaluated",
			"points", rejected.Future, "max_clock_skew", d.maxSkew.String())
	}
	if rejected.NotFinite > 0 {
		rejectedTotal.WithLabelValues(ReasonNotFinite).Add(float64(rejected.NotFinite))
		d.log.Warn("points whose value is NaN or infinite were archived but not evaluated", "points", rejected.NotFinite)
	}
}

// flush publishes the outbox in order, and records each firing alert (or
// forgets a resolved one) once its event is out, before the batch is acked.
// Ids are derived, so an emission published before a failure is dropped by
// JetStream when retried.
func (d *Detector) flush(ctx context.Context) error {
	for len(d.outbox) > 0 {
		em := d.outbox[0]
		if _, err := d.pub.Emit(ctx, em.ID, em.Data); err != nil {
			if !bus.IsPermanent(err) {
				return fmt.Errorf("publish %s: %w (the batch will be retried)", em.Data.EventType(), err)
			}
			// An event that breaks its schema is a detector bug; keeping it
			// would block every later batch.
			d.log.Error("dropping an anomaly event that cannot be published", "event_id", em.ID, "err", err)
		} else {
			if err := d.remember(ctx, em); err != nil {
				return fmt.Errorf("%w (the batch will be retried)", err)
			}
			countEmission(em)
			d.log.Info("anomaly event published", "type", em.Data.EventType(), "event_id", em.ID, "subject", em.Data.EventSubject())
		}
		d.outbox = d.outbox[1:]
	}
	return nil
}

// remember keeps a fired alert and forgets a resolved one.
func (d *Detector) remember(ctx context.Context, em engine.Emission) error {
	switch a := em.Data.(type) {
	case events.AnomalyDetected:
		return d.firing.Put(ctx, a)
	case events.AnomalyResolved:
		return d.firing.Delete(ctx, a.Fingerprint)
	}
	return nil
}
