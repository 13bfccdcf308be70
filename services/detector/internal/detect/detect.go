// Package detect is the detector's telemetry handler: it runs telemetry
// through the rule engine and publishes the anomalies that start or end.
// It never touches ClickHouse: the archiver writes the points, on a durable
// consumer of its own.
package detect

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/detector/internal/engine"
	"github.com/medic-sre/medic/services/detector/internal/firing"
)

// Publisher publishes an event with a stable id (bus.Bus.Emit).
type Publisher interface {
	Emit(ctx context.Context, id string, data events.Data) (events.Meta, error)
}

// Firing keeps the alerts that are firing across restarts (firing.Store).
type Firing interface {
	Put(ctx context.Context, r firing.Record) error
	Delete(ctx context.Context, fingerprint string) error
}

// Options are the detector's settings beyond its connections.
type Options struct {
	// Firing (required) records each alert before its anomaly.detected is
	// published, and its resolution before its anomaly.resolved is.
	Firing Firing
	// MaxClockSkew is how far past the detector's clock a point may be
	// stamped and still be evaluated (DefaultMaxClockSkew if 0).
	MaxClockSkew time.Duration
	// Metrics count points, rejections and anomalies (unregistered
	// metrics if nil).
	Metrics *Metrics
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
	pub     Publisher
	firing  Firing
	maxSkew time.Duration
	metrics *Metrics
	now     func() time.Time
	mu      sync.Mutex
	engine  *engine.Engine
	fed     *recent
	// outbox holds emissions not yet recorded and published: a batch whose
	// publish failed is redelivered, but its points are already in the
	// engine, so the engine would not emit them again.
	outbox []engine.Emission
	// records mirrors the firing store, by fingerprint, so that a
	// resolution is recorded beside the alert it ends.
	records map[string]firing.Record
}

// New makes a detector over an engine.
func New(log *slog.Logger, pub Publisher, e *engine.Engine, o Options) *Detector {
	if o.MaxClockSkew <= 0 {
		o.MaxClockSkew = DefaultMaxClockSkew
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	return &Detector{log: log, pub: pub, firing: o.Firing, maxSkew: o.MaxClockSkew, metrics: o.Metrics, now: time.Now,
		engine: e, fed: newRecent(100_000), records: map[string]firing.Record{}}
}

// Handle processes one batch: (1) feed its points to the engine, (2) record
// and publish what the engine emits. Any error leaves the batch unacked, to
// be redelivered. The bus has decoded the batch (once) and dead-lettered
// what is not telemetry. ClickHouse is not involved: the archiver writes
// the points.
func (d *Detector) Handle(ctx context.Context, batch []events.Item[events.TelemetryPoints]) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.feed(batch)
	d.outbox = append(d.outbox, d.engine.Evaluate(d.now())...)
	d.metrics.series.Set(float64(d.engine.Series()))
	return d.flush(ctx)
}

// feed gives the engine the points of events it has not seen yet, so that a
// redelivered batch does not count its points twice. Points stamped too far
// ahead of the detector's clock, and points whose value is not finite, are
// not evaluated (the archiver still writes them).
func (d *Detector) feed(batch []events.Item[events.TelemetryPoints]) {
	notAfter := d.now().Add(d.maxSkew).UnixNano()
	var rejected engine.Rejected
	for _, it := range batch {
		if !d.fed.add(it.Meta.ID) {
			continue
		}
		tp := it.Data
		n := d.engine.Observe(tp.Points, notAfter)
		rejected.Future += n.Future
		rejected.NotFinite += n.NotFinite
		d.metrics.points.Add(float64(len(tp.Points) - n.Total()))
	}
	// Logged once per batch: a sender whose clock runs ahead would otherwise
	// log a line per point.
	if rejected.Future > 0 {
		d.metrics.rejected.WithLabelValues(ReasonFuture).Add(float64(rejected.Future))
		d.log.Warn("points stamped after the detector's clock plus --max-clock-skew were not evaluated",
			"points", rejected.Future, "max_clock_skew", d.maxSkew.String())
	}
	if rejected.NotFinite > 0 {
		d.metrics.rejected.WithLabelValues(ReasonNotFinite).Add(float64(rejected.NotFinite))
		d.log.Warn("points whose value is NaN or infinite were not evaluated", "points", rejected.NotFinite)
	}
}
