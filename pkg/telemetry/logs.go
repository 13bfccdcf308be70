package telemetry

import (
	"context"
	"errors"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// fanout sends each record to several handlers.
type fanout []slog.Handler

func (f fanout) Enabled(ctx context.Context, l slog.Level) bool {
	for _, h := range f {
		if h.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

func (f fanout) Handle(ctx context.Context, r slog.Record) error {
	var errs []error
	for _, h := range f {
		if h.Enabled(ctx, r.Level) {
			errs = append(errs, h.Handle(ctx, r.Clone()))
		}
	}
	return errors.Join(errs...)
}

func (f fanout) WithAttrs(as []slog.Attr) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithAttrs(as)
	}
	return out
}

func (f fanout) WithGroup(name string) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithGroup(name)
	}
	return out
}

// clickhouseHandler turns records into rows of the medic_logs table, with the
// trace and span ids of the context they were logged in.
type clickhouseHandler struct {
	t       *Telemetry
	service string
	level   slog.Level
	prefix  string
	attrs   []slog.Attr
}

func (h *clickhouseHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *clickhouseHandler) Handle(ctx context.Context, r slog.Record) error {
	w := h.t.logs.Load()
	if w == nil {
		return nil // not exported yet: the JSON copy on stdout remains
	}
	row := logRow{service: h.service}
	for _, a := range h.attrs {
		row.add("", a)
	}
	r.Attrs(func(a slog.Attr) bool {
		row.add(h.prefix, a)
		return true
	})
	var traceID, spanID string
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		traceID, spanID = sc.TraceID().String(), sc.SpanID().String()
	}
	w.Add(r.Time, r.Time.UnixNano(), row.service, r.Level.String(), r.Message, traceID, spanID,
		row.model, row.modelVersion, row.keys, row.values)
	return nil
}

func (h *clickhouseHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr{}, h.attrs...), prefixed(h.prefix, as)...)
	return &c
}

func (h *clickhouseHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.prefix = h.prefix + name + "."
	return &c
}

func prefixed(prefix string, as []slog.Attr) []slog.Attr {
	if prefix == "" {
		return as
	}
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = slog.Attr{Key: prefix + a.Key, Value: a.Value}
	}
	return out
}

type logRow struct {
	service, model, modelVersion string
	keys, values                 []string
}

func (r *logRow) add(prefix string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Value.Kind() == slog.KindGroup {
		for _, g := range a.Value.Group() {
			r.add(prefix+a.Key+".", g)
		}
		return
	}
	key, val := prefix+a.Key, a.Value.String()
	switch key {
	case "service":
		r.service = val
		return
	case AttrModel:
		r.model = val
	case AttrModelVersion:
		r.modelVersion = val
	}
	r.keys = append(r.keys, key)
	r.values = append(r.values, val)
}
