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
	// MaxLateness is how far before the detector's clock a point may be
	// stamped and still be evaluated (DefaultMaxLateness if 0).
	MaxLateness time.Duration
	// Metrics count points, rejections and anomalies (unregistered
	// metrics if nil).
	Metrics *Metrics
	// MaxSeries bounds the alert series held (0: no bound); see
	// engine.LimitSeries.
	MaxSeries int
	// Join, when set, joins labels to their predictions; the outcome
	// points it returns are evaluated with the batch's own.
	Join Joiner
	// LabelWindow is how long Join remembers a prediction: its outcome
	// points are stamped at the prediction's time, up to this much older
	// than a live point, so the lateness guard lets them in up to
	// MaxLateness plus LabelWindow back.
	LabelWindow time.Duration
}

// Joiner joins labels to predictions (labeljoin.Joiner).
type Joiner interface {
	// Join joins the labels among pts, the points of event eventID.
	Join(ctx context.Context, eventID string, pts []events.Point) ([]events.Point, error)
	// Rejoin is what Join gave the labels among pts before: for Warm.
	Rejoin(ctx context.Context, eventID string, pts []events.Point) ([]events.Point, error)
}

// DefaultMaxSeries is the default of --max-series: at the ~2-8 KiB a
// series holds, 100,000 series stay under a gigabyte, and a rule grouping by
// a label of unbounded values reaches it in seconds instead of exhausting
// the detector's memory.
const DefaultMaxSeries = 100_000

// DefaultMaxClockSkew is the default of Options.MaxClockSkew. It is small:
// a point stamped ahead moves event time forward for its own series, and
// the evaluations it triggers cannot be redone when the real data arrives.
const DefaultMaxClockSkew = 5 * time.Second

// DefaultMaxLateness is the default of Options.MaxLateness. Live telemetry
// arrives within seconds, and a restarted detector replays a few minutes of
// backlog at most; older points are backfill (recorded data loaded through
// OTLP), which the archiver stores but which must not raise live anomalies.
const DefaultMaxLateness = 5 * time.Minute

// tooOldLogEvery spaces the log lines about backfilled points: a backfill
// is many batches, each of them old.
const tooOldLogEvery = time.Minute

// Detector owns the engine. Its windows are in memory only: a restarted
// detector starts them empty and rebuilds them from new telemetry. Its
// firing alerts are kept in Options.Firing, and Restore puts them back.
type Detector struct {
	log     *slog.Logger
	pub     Publisher
	firing  Firing
	maxSkew time.Duration
	// judgedTo is the newest point time when the batch being fed was last
	// evaluated (see judgeIfDue); 0 at its start.
	judgedTo int64
	maxLate  time.Duration
	metrics  *Metrics
	join     Joiner
	// labelWindow widens the lateness guard for joined outcome points.
	labelWindow time.Duration
	// tooOld throttles the log about backfilled points, overLimit the one
	// about refused series.
	tooOld, overLimit throttle
	maxSeries         int
	now               func() time.Time
	mu                sync.Mutex
	engine            *engine.Engine
	// judgeEvery is the engine's JudgeEvery in nanoseconds, taken once:
	// its rules are fixed when it is made.
	judgeEvery int64
	fed        *recent
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
	if o.MaxLateness <= 0 {
		o.MaxLateness = DefaultMaxLateness
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	e.LimitSeries(o.MaxSeries)
	o.Metrics.limit.Set(float64(o.MaxSeries))
	return &Detector{log: log, pub: pub, firing: o.Firing, maxSkew: o.MaxClockSkew, maxLate: o.MaxLateness,
		metrics: o.Metrics, join: o.Join, labelWindow: o.LabelWindow, now: time.Now,
		tooOld: throttle{every: tooOldLogEvery}, overLimit: throttle{every: tooOldLogEvery}, maxSeries: o.MaxSeries,
		engine: e, judgeEvery: e.JudgeEvery().Nanoseconds(), fed: newRecent(100_000), records: map[string]firing.Record{}}
}

// Handle processes one batch: (1) feed its points to the engine, (2) record
// and publish what the engine emits. Any error leaves the batch unacked, to
// be redelivered. The bus has decoded the batch (once) and dead-lettered
// what is not telemetry. ClickHouse is not involved: the archiver writes
// the points.
func (d *Detector) Handle(ctx context.Context, batch []events.Item[events.TelemetryPoints]) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.feed(ctx, batch); err != nil {
		return err
	}
	d.outbox = append(d.outbox, d.engine.Evaluate(d.now())...)
	d.metrics.series.Set(float64(d.engine.Series()))
	return d.flush(ctx)
}

// Warm feeds the engine telemetry that it evaluated before a restart, so
// that its windows and baselines hold what they held, and drops what the
// engine emits: those events were acked, so their anomalies went out
// before. Points of the last span are taken, older than --max-lateness as
// they may be. Labels give the outcomes they joined the first time
// (Joiner.Rejoin), so that quality windows are rebuilt too. It returns the
// points taken; an error is the join's store failing.
func (d *Detector) Warm(ctx context.Context, batch []events.Item[events.TelemetryPoints], span time.Duration) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	notBefore, notAfter := now.Add(-max(span, d.maxLate)).UnixNano(), now.Add(d.maxSkew).UnixNano()
	outcomesNotBefore := now.Add(-max(span, d.maxLate) - d.labelWindow).UnixNano()
	taken := 0
	d.judgedTo = 0
	for _, it := range batch {
		var outcomes []events.Point
		if d.join != nil {
			var err error
			if outcomes, err = d.join.Rejoin(ctx, it.Meta.ID, it.Data.Points); err != nil {
				return taken, err
			}
		}
		d.fed.add(it.Meta.ID)
		if d.judgeIfDue(it.Data.Points) {
			d.engine.Evaluate(now) // dropped, as below
		}
		n := d.engine.Observe(it.Data.Points, notBefore, notAfter)
		m := d.engine.Observe(outcomes, outcomesNotBefore, notAfter)
		taken += len(it.Data.Points) + len(outcomes) - n.Total() - m.Total()
	}
	d.engine.Evaluate(now)
	d.metrics.series.Set(float64(d.engine.Series()))
	return taken, nil
}

// Tick evaluates without new telemetry, so that evaluation goes on when
// every source has stopped: the engine moves quiet series on by the wall
// clock (a firing alert resolves, a no_data: fire rule fires). What it
// emits is recorded and published as after a batch; what cannot go out now
// stays queued for the next tick or batch.
func (d *Detector) Tick(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.outbox = append(d.outbox, d.engine.Evaluate(d.now())...)
	d.metrics.series.Set(float64(d.engine.Series()))
	return d.flush(ctx)
}

// TickEvery calls Tick every interval until ctx ends, logging what fails.
func (d *Detector) TickEvery(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := d.Tick(ctx); err != nil && ctx.Err() == nil {
				d.log.Warn("evaluation without new telemetry could not publish; retried at the next tick or batch", "err", err)
			}
		}
	}
}

// judgeIfDue reports whether to evaluate before points that move event time
// on by the engine's JudgeEvery or more since the batch's first event or
// its last evaluation: a batch of a backlog can span minutes, and an ML
// rule judges a window only while its ring still holds it.
func (d *Detector) judgeIfDue(points []events.Point) bool {
	if d.judgeEvery == 0 || len(points) == 0 {
		return false
	}
	newest := points[0].TimeUnixNano
	for _, p := range points[1:] {
		newest = max(newest, p.TimeUnixNano)
	}
	if d.judgedTo == 0 {
		d.judgedTo = newest
		return false
	}
	if newest-d.judgedTo < d.judgeEvery {
		return false
	}
	d.judgedTo = newest
	return true
}

// feed gives the engine the points of events it has not seen yet, so that a
// redelivered batch does not count its points twice. Points stamped too far
// ahead of the detector's clock or too far behind it, points whose value is
// not finite and histogram buckets without a numeric bound are not
// evaluated (the archiver still writes them). With a label join, each
// event's points go through it first, and the outcome points it makes are
// evaluated too, the lateness guard reaching back by the label window for
// them: they are stamped at their predictions' times. A join that fails
// stops the batch before the event is marked seen, so that its
// redelivery joins it again.
func (d *Detector) feed(ctx context.Context, batch []events.Item[events.TelemetryPoints]) error {
	now := d.now()
	notBefore, notAfter := now.Add(-d.maxLate).UnixNano(), now.Add(d.maxSkew).UnixNano()
	outcomesNotBefore := now.Add(-d.maxLate - d.labelWindow).UnixNano()
	var rejected engine.Rejected
	defer func() { d.countRejected(rejected, now) }()
	d.judgedTo = 0
	for _, it := range batch {
		if d.fed.seen(it.Meta.ID) {
			continue
		}
		tp := it.Data
		var outcomes []events.Point
		if d.join != nil {
			var err error
			if outcomes, err = d.join.Join(ctx, it.Meta.ID, tp.Points); err != nil {
				return err
			}
		}
		d.fed.add(it.Meta.ID)
		if d.judgeIfDue(tp.Points) {
			d.outbox = append(d.outbox, d.engine.Evaluate(d.now())...)
		}
		n := d.engine.Observe(tp.Points, notBefore, notAfter)
		m := d.engine.Observe(outcomes, outcomesNotBefore, notAfter)
		rejected = rejected.Add(n).Add(m)
		d.metrics.points.Add(float64(len(tp.Points) + len(outcomes) - n.Total() - m.Total()))
	}
	return nil
}

// countRejected counts and logs what feed left out.
func (d *Detector) countRejected(rejected engine.Rejected, now time.Time) {
	// Logged once per batch: a sender whose clock runs ahead would otherwise
	// log a line per point.
	if rejected.Future > 0 {
		d.metrics.rejected.WithLabelValues(ReasonFuture).Add(float64(rejected.Future))
		d.log.Warn("points stamped after the detector's clock plus --max-clock-skew were not evaluated",
			"points", rejected.Future, "max_clock_skew", d.maxSkew.String())
	}
	if rejected.TooOld > 0 {
		d.metrics.rejected.WithLabelValues(ReasonTooOld).Add(float64(rejected.TooOld))
		// A backfill is many batches: one line a minute, with the count since the last.
		if n, ok := d.tooOld.add(rejected.TooOld, now); ok {
			d.log.Info("points stamped before the detector's clock less --max-lateness were not evaluated (backfill: the archiver stores them)",
				"points", n, "max_lateness", d.maxLate.String())
		}
	}
	if rejected.NotFinite > 0 {
		d.metrics.rejected.WithLabelValues(ReasonNotFinite).Add(float64(rejected.NotFinite))
		d.log.Warn("points whose value is NaN or infinite were not evaluated", "points", rejected.NotFinite)
	}
	if rejected.BadBucket > 0 {
		d.metrics.rejected.WithLabelValues(ReasonBadBucket).Add(float64(rejected.BadBucket))
		d.log.Warn("histogram bucket points whose le attribute is not a number were not evaluated", "points", rejected.BadBucket)
	}
	// Late and repeated points are a sender's or a network's doing and
	// come in bursts: counted, not logged.
	if rejected.Late > 0 {
		d.metrics.rejected.WithLabelValues(ReasonLate).Add(float64(rejected.Late))
	}
	if rejected.Duplicate > 0 {
		d.metrics.rejected.WithLabelValues(ReasonDuplicate).Add(float64(rejected.Duplicate))
	}
	if rejected.OverLimit > 0 {
		d.metrics.rejected.WithLabelValues(ReasonOverLimit).Add(float64(rejected.OverLimit))
		if n, ok := d.overLimit.add(rejected.OverLimit, now); ok {
			d.log.Error("the detector holds --max-series alert series; points that would start a new series are not evaluated. "+
				"Drop a label of unbounded values (an id, a timestamp) from these rules' group_by or match, or raise --max-series (MAX_SERIES)",
				"points", n, "rules", d.engine.OverLimitRules(), "max_series", d.maxSeries)
		}
	}
}

// throttle lets one event through per interval and counts the ones it
// held back.
type throttle struct {
	every time.Duration
	last  time.Time
	held  int
}

// add counts n events at now; it returns the events since the last one let
// through, and whether to let this one through.
func (t *throttle) add(n int, now time.Time) (int, bool) {
	t.held += n
	if !t.last.IsZero() && now.Sub(t.last) < t.every {
		return 0, false
	}
	n, t.held, t.last = t.held, 0, now
	return n, true
}
