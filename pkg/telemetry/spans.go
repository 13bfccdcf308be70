package telemetry

import (
	"context"
	"encoding/json"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// spanExporter turns finished spans into rows of the medic_spans table.
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
				model = attrText(kv.Value)
			case AttrModelVersion:
				version = attrText(kv.Value)
			}
			keys = append(keys, string(kv.Key))
			vals = append(vals, attrText(kv.Value))
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

// attrText is the text the medic_spans table stores for an attribute value: what
// the deprecated Value.Emit returns. Value.String, its replacement, writes
// some floats and slices differently (Infinity rather than +Inf,
// [true,false] rather than [true false]), and the table's content must not
// change.
func attrText(v attribute.Value) string {
	switch v.Type() {
	case attribute.BOOLSLICE:
		return fmt.Sprint(v.AsBoolSlice())
	case attribute.INT64SLICE:
		return jsonText(v.AsInt64Slice())
	case attribute.FLOAT64:
		return fmt.Sprint(v.AsFloat64())
	case attribute.FLOAT64SLICE:
		return jsonText(v.AsFloat64Slice())
	case attribute.STRINGSLICE:
		return jsonText(v.AsStringSlice())
	default:
		// Emit and String agree on every other type.
		return v.String()
	}
}

// jsonText is how Emit writes numeric and string slices.
func jsonText[T any](s []T) string {
	j, err := json.Marshal(s)
	if err != nil {
		return fmt.Sprintf("invalid: %v", s)
	}
	return string(j)
}
