package telemetry

import (
	"context"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// spanExporter turns finished spans into rows of the spans table.
type spanExporter struct{ t *Telemetry }

// statusCode follows OTLP: 0 unset, 1 ok, 2 error.
func statusCode(c codes.Code) uint8 {
	switch c {
	case codes.Ok:
		return 1
	case codes.Error:
		return 2
	}
	return 0
}

func (e *spanExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	w := e.t.spans.Load()
	if w == nil {
		return nil
	}
	for _, s := range spans {
		service := e.t.service
		for _, kv := range s.Resource().Attributes() {
			if kv.Key == "service.name" {
				service = kv.Value.AsString()
			}
		}
		var model, version, parent string
		keys := make([]string, 0, len(s.Attributes()))
		vals := make([]string, 0, len(s.Attributes()))
		for _, kv := range s.Attributes() {
			switch string(kv.Key) {
			case AttrModel:
				model = kv.Value.Emit()
			case AttrModelVersion:
				version = kv.Value.Emit()
			}
			keys = append(keys, string(kv.Key))
			vals = append(vals, kv.Value.Emit())
		}
		if s.Parent().IsValid() {
			parent = s.Parent().SpanID().String()
		}
		start, end := s.StartTime(), s.EndTime()
		w.Add(start, start.UnixNano(), end.UnixNano(), end.Sub(start).Nanoseconds(),
			s.SpanContext().TraceID().String(), s.SpanContext().SpanID().String(), parent,
			service, s.Name(), s.SpanKind().String(), statusCode(s.Status().Code), s.Status().Description,
			model, version, keys, vals)
	}
	return nil
}

func (e *spanExporter) Shutdown(context.Context) error { return nil }
