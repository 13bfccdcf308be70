package export

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/medic-sre/medic/pkg/events"
	"go.opentelemetry.io/otel/trace"
)

// MaxLogBatch is the most records one telemetry.logs event carries, which
// keeps an event well under NATS's 1 MB message limit.
const MaxLogBatch = 1000

// Logs buffers the serving path's log records and publishes them as
// telemetry.logs events. Its Handler is the slog handler of the serving
// path; the simulator's own operational logs stay on stdout.
type Logs struct {
	Source  string
	Publish Publish
	// Timeout bounds one publish.
	Timeout time.Duration
	// Max bounds the records held while the bus is unreachable; past it
	// the oldest are dropped.
	Max int

	mu      sync.Mutex
	pending []events.LogRecord
	dropped int
	// unsent is a batch whose publish failed, kept with its id: the retry
	// is dropped by the stream if the failed publish had landed.
	unsent *logBatch
}

type logBatch struct {
	id      string
	records []events.LogRecord
}

// add queues a record, dropping the oldest past Max.
func (l *Logs) add(r events.LogRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending = append(l.pending, r)
	if over := len(l.pending) - l.Max; l.Max > 0 && over > 0 {
		l.pending = l.pending[over:]
		l.dropped += over
	}
}

// Dropped is how many records were dropped past Max.
func (l *Logs) Dropped() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dropped
}

// Flush publishes the batch that failed before, then the queued records in
// batches of at most MaxLogBatch, stopping at the first failure.
func (l *Logs) Flush(ctx context.Context) error {
	for {
		b := l.next()
		if b == nil {
			return nil
		}
		pctx, cancel := context.WithTimeout(ctx, l.Timeout)
		err := l.Publish(pctx, b.id, events.TelemetryLogs{Source: l.Source, Records: b.records})
		cancel()
		if err != nil {
			return fmt.Errorf("publish %d log records: %w", len(b.records), err)
		}
		l.mu.Lock()
		l.unsent = nil
		l.mu.Unlock()
	}
}

// next is the batch to publish: the failed one, or a new one taken from
// the queue.
func (l *Logs) next() *logBatch {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.unsent != nil {
		return l.unsent
	}
	if len(l.pending) == 0 {
		return nil
	}
	n := min(len(l.pending), MaxLogBatch)
	l.unsent = &logBatch{id: uuid.NewString(), records: l.pending[:n:n]}
	l.pending = l.pending[n:]
	return l.unsent
}

// Run flushes every interval until ctx ends, reporting on log a failure
// once and the recovery once. The caller flushes once more on shutdown.
func (l *Logs) Run(ctx context.Context, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			err := l.Flush(ctx)
			if ctx.Err() != nil {
				return
			}
			if err != nil && !failing {
				log.Warn("publishing serving logs failed; buffering them (oldest dropped past the bound)", "err", err, "dropped", l.Dropped())
			} else if err == nil && failing {
				log.Info("publishing serving logs recovered", "dropped", l.Dropped())
			}
			failing = err != nil
		}
	}
}

// Handler returns a slog handler at level and above that queues each
// record, with the trace and span ids of the context it was logged in. The
// "service" attribute names the record's service (default service);
// "model" and "model_version" fill the model columns.
func (l *Logs) Handler(service string, level slog.Level) slog.Handler {
	return &logHandler{logs: l, service: service, level: level}
}

type logHandler struct {
	logs    *Logs
	service string
	level   slog.Level
	prefix  string
	attrs   []slog.Attr
}

func (h *logHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	rec := events.LogRecord{TimeUnixNano: r.Time.UnixNano(), Severity: r.Level.String(), Body: r.Message, Service: h.service}
	for _, a := range h.attrs {
		addAttr(&rec, "", a)
	}
	r.Attrs(func(a slog.Attr) bool {
		addAttr(&rec, h.prefix, a)
		return true
	})
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		rec.TraceID, rec.SpanID = sc.TraceID().String(), sc.SpanID().String()
	}
	h.logs.add(rec)
	return nil
}

func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append([]slog.Attr{}, h.attrs...)
	for _, a := range as {
		c.attrs = append(c.attrs, slog.Attr{Key: h.prefix + a.Key, Value: a.Value})
	}
	return &c
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.prefix = h.prefix + name + "."
	return &c
}

// addAttr puts one attribute (groups flattened with dotted keys) on rec.
func addAttr(rec *events.LogRecord, prefix string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Value.Kind() == slog.KindGroup {
		for _, g := range a.Value.Group() {
			addAttr(rec, prefix+a.Key+".", g)
		}
		return
	}
	key, val := prefix+a.Key, a.Value.String()
	switch key {
	case "service":
		rec.Service = val
		return
	case AttrModel:
		rec.Model = val
	case AttrModelVersion:
		rec.ModelVersion = val
	}
	if rec.Attributes == nil {
		rec.Attributes = map[string]string{}
	}
	rec.Attributes[key] = val
}
