package otlp

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Signal names, the signal label of the metrics.
const (
	SignalMetrics = "metrics"
	SignalTraces  = "traces"
	SignalLogs    = "logs"
)

// Receiver maps OTLP exports onto Medic's telemetry events and publishes
// them. One Receiver serves both transports; it is safe for concurrent use.
type Receiver struct {
	cfg      Config
	pub      Publisher
	log      *slog.Logger
	m        *metrics
	series   *series
	inflight chan struct{}
	backlog  atomic.Pointer[Backlog]
}

// Backlog says whether what the receiver publishes is piling up unread
// downstream; backlog.Watcher is one.
type Backlog interface {
	Behind() (behind bool, reason string, retryAfter time.Duration)
}

// ErrBehind means the receiver pushes back because the archiver is behind;
// the client should retry later. Errors that match it carry the reason
// and a retry delay (see RetryDelay).
var ErrBehind = errors.New("the archiver is behind")

// behindError is ErrBehind with the reason and the delay to ask for.
type behindError struct {
	reason     string
	retryAfter time.Duration
}

func (e *behindError) Error() string        { return e.reason }
func (e *behindError) Is(target error) bool { return target == ErrBehind }

// RetryDelay is the delay an ErrBehind asks for, or def.
func RetryDelay(err error, def time.Duration) time.Duration {
	if e, ok := errors.AsType[*behindError](err); ok && e.retryAfter > 0 {
		return e.retryAfter
	}
	return def
}

// PushBackWhen makes the receiver refuse whole exports, 429 /
// RESOURCE_EXHAUSTED, while b is behind, rather than pile more onto a
// backlog.
func (r *Receiver) PushBackWhen(b Backlog) { r.backlog.Store(&b) }

// Result is what became of one export: how many items were published and
// how many rejected, with a message naming the reasons.
type Result struct {
	Accepted int
	Rejected int
	Message  string
}

// New builds a Receiver that publishes through pub and registers its
// metrics with reg. A nil log logs to slog.Default.
func New(cfg Config, pub Publisher, reg prometheus.Registerer, log *slog.Logger) (*Receiver, error) {
	if log == nil {
		log = slog.Default()
	}
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	return &Receiver{
		cfg: cfg, pub: pub, log: log, m: m,
		series:   newSeries(cfg.MaxSeriesPerService, cfg.MaxTrackedSeries, cfg.SeriesIdle),
		inflight: make(chan struct{}, cfg.MaxInFlight),
	}, nil
}

// ConsumeMetrics maps and publishes md. It returns ErrOverloaded or
// ErrUnavailable when the client should retry the whole export.
func (r *Receiver) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) (Result, error) {
	return consume(ctx, r, SignalMetrics, func(rj *rejects) []batch {
		return r.pointBatches(r.mapMetrics(md, rj), rj)
	})
}

// ConsumeTraces maps and publishes td, as ConsumeMetrics does.
func (r *Receiver) ConsumeTraces(ctx context.Context, td ptrace.Traces) (Result, error) {
	return consume(ctx, r, SignalTraces, func(rj *rejects) []batch {
		return r.spanBatches(r.mapTraces(td, rj), rj)
	})
}

// ConsumeLogs maps and publishes ld, as ConsumeMetrics does.
func (r *Receiver) ConsumeLogs(ctx context.Context, ld plog.Logs) (Result, error) {
	return consume(ctx, r, SignalLogs, func(rj *rejects) []batch {
		return r.logBatches(r.mapLogs(ld, rj), rj)
	})
}

// consume runs one export: it takes an in-flight slot, maps, publishes and
// counts.
func consume(ctx context.Context, r *Receiver, signal string, mapped func(*rejects) []batch) (Result, error) {
	if b := r.backlog.Load(); b != nil {
		if behind, reason, after := (*b).Behind(); behind {
			r.m.rejected.WithLabelValues(signal, ReasonBackpressure).Inc()
			return Result{}, &behindError{reason: reason, retryAfter: after}
		}
	}
	select {
	case r.inflight <- struct{}{}:
		defer func() { <-r.inflight }()
	default:
		r.m.rejected.WithLabelValues(signal, "overloaded").Inc()
		return Result{}, ErrOverloaded
	}
	var rj rejects
	batches := mapped(&rj)
	if err := r.publish(ctx, batches, &rj); err != nil {
		reason := "unavailable"
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			reason = "canceled"
		}
		r.m.rejected.WithLabelValues(signal, reason).Inc()
		r.log.Warn("otlp export not published", "signal", signal, "err", err)
		return Result{}, err
	}
	accepted := 0
	for _, b := range batches {
		accepted += b.items
	}
	accepted -= rj.count[ReasonInvalidEvent]
	r.m.record(signal, accepted, &rj)
	if rj.n > 0 {
		r.log.Debug("otlp export partly rejected", "signal", signal, "rejected", rj.n, "why", rj.message())
	}
	return Result{Accepted: accepted, Rejected: rj.n, Message: rj.message()}, nil
}
