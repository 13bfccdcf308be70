// Package export ships the simulated serving system's spans and logs to
// Medic the way any watched system would: as telemetry.spans and
// telemetry.logs events on the bus, which Medic's archiver writes to
// ClickHouse. The simulator never writes Medic's tables itself.
package export

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkresource "go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Attribute keys that fill the model columns of span and log rows.
const (
	AttrModel        = "model"
	AttrModelVersion = "model_version"
)

// Publish publishes one event's data with the given id (bus.Bus.Emit).
type Publish func(ctx context.Context, id string, data events.Data) error

// SpanExporter is an OpenTelemetry span exporter that publishes each batch
// of finished spans as one telemetry.spans event.
type SpanExporter struct {
	Source  string
	Publish Publish
	// Timeout bounds one publish.
	Timeout time.Duration
}

// ExportSpans publishes spans as one event. Its id is derived from the
// first span, so a batch the SDK exports again is dropped by the stream's
// duplicate window.
func (e *SpanExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if len(spans) == 0 {
		return nil
	}
	out := make([]events.Span, len(spans))
	for i, s := range spans {
		out[i] = Span(s)
	}
	ctx, cancel := context.WithTimeout(ctx, e.Timeout)
	defer cancel()
	id := events.DerivedID("telemetry.spans", out[0].TraceID, out[0].SpanID)
	if err := e.Publish(ctx, id, events.TelemetrySpans{Source: e.Source, Spans: out}); err != nil {
		return fmt.Errorf("publish %d spans: %w", len(out), err)
	}
	return nil
}

// Shutdown has nothing to release.
func (e *SpanExporter) Shutdown(context.Context) error { return nil }

// TracerProvider returns a provider whose spans carry the given service
// name and are exported through e, in batches.
func (e *SpanExporter) TracerProvider(service string) *sdktrace.TracerProvider {
	res := sdkresource.NewSchemaless(attribute.String("service.name", service))
	return sdktrace.NewTracerProvider(sdktrace.WithResource(res),
		sdktrace.WithBatcher(e, sdktrace.WithBatchTimeout(200*time.Millisecond)))
}

// Span is a finished span as the event carries it.
func Span(s sdktrace.ReadOnlySpan) events.Span {
	out := events.Span{TraceID: s.SpanContext().TraceID().String(), SpanID: s.SpanContext().SpanID().String(),
		Name: s.Name(), Kind: s.SpanKind().String(), StartUnixNano: s.StartTime().UnixNano(), EndUnixNano: s.EndTime().UnixNano(),
		StatusCode: statusCode(s.Status().Code), StatusMessage: s.Status().Description}
	if s.Parent().IsValid() {
		out.ParentSpanID = s.Parent().SpanID().String()
	}
	for _, kv := range s.Resource().Attributes() {
		if kv.Key == "service.name" {
			out.Service = kv.Value.AsString()
		}
	}
	if len(s.Attributes()) > 0 {
		out.Attributes = make(map[string]string, len(s.Attributes()))
	}
	for _, kv := range s.Attributes() {
		v := text(kv.Value)
		switch string(kv.Key) {
		case AttrModel:
			out.Model = v
		case AttrModelVersion:
			out.ModelVersion = v
		}
		out.Attributes[string(kv.Key)] = v
	}
	return out
}

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

// text is an attribute value as the tables store it.
func text(v attribute.Value) string {
	switch v.Type() {
	case attribute.FLOAT64:
		return strconv.FormatFloat(v.AsFloat64(), 'g', -1, 64)
	case attribute.STRING:
		return v.AsString()
	}
	return v.String()
}
