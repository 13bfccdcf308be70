package export

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
)

// recorder is a Publish that keeps what it was given, or fails.
type recorder struct {
	tried []string
	ids   []string
	data  []events.Data
	err   error
}

func (r *recorder) publish(_ context.Context, id string, d events.Data) error {
	r.tried = append(r.tried, id)
	if r.err != nil {
		return r.err
	}
	if _, err := events.NewWithID(id, "test", d); err != nil {
		return err // the event would not validate
	}
	r.ids, r.data = append(r.ids, id), append(r.data, d)
	return nil
}

// A trace of two tiers becomes one valid telemetry.spans event: each span
// names its tier's service, its parent, its status and its model.
func TestSpansArePublishedAsOneEvent(t *testing.T) {
	rec := &recorder{}
	e := &SpanExporter{Source: "sim", Publish: rec.publish, Timeout: time.Second}
	gw, ms := e.TracerProvider("gateway"), e.TracerProvider("model-server")
	ctx, root := gw.Tracer("t").Start(context.Background(), "POST /predict")
	_, child := ms.Tracer("t").Start(ctx, "predict")
	child.SetAttributes(attribute.String(AttrModel, "fraud"), attribute.String(AttrModelVersion, "v2"), attribute.Float64("ratio", 0.5))
	child.SetStatus(codes.Error, "shape mismatch")
	child.End()
	root.End()
	for _, tp := range []interface{ Shutdown(context.Context) error }{ms, gw} {
		if err := tp.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	var spans []events.Span
	for _, d := range rec.data {
		spans = append(spans, d.(events.TelemetrySpans).Spans...)
	}
	if len(spans) != 2 {
		t.Fatalf("published %d spans, want 2", len(spans))
	}
	got := map[string]events.Span{spans[0].Service: spans[0], spans[1].Service: spans[1]}
	p, c := got["gateway"], got["model-server"]
	if p.ParentSpanID != "" || c.ParentSpanID != p.SpanID || c.TraceID != p.TraceID || c.StatusCode != 2 ||
		c.StatusMessage != "shape mismatch" || c.Model != "fraud" || c.ModelVersion != "v2" || c.Attributes["ratio"] != "0.5" || c.Kind != "internal" {
		t.Fatalf("spans = %+v", got)
	}
}

// Serving log records carry their service, model and trace, go out in
// batches of at most MaxLogBatch, and a failed batch is retried under the
// same id, so that a publish that had in fact landed is not doubled.
func TestLogsArePublishedInBatchesAndRetriedUnderOneID(t *testing.T) {
	rec := &recorder{}
	l := &Logs{Source: "sim", Publish: rec.publish, Timeout: time.Second, Max: 5000}
	log := slog.New(l.Handler("model-server", slog.LevelInfo))
	log.Debug("not exported")
	for range MaxLogBatch + 1 {
		log.Warn("prediction failed", AttrModel, "fraud", AttrModelVersion, "v2", "service", "gateway")
	}
	rec.err = errors.New("nats down")
	if err := l.Flush(context.Background()); err == nil {
		t.Fatal("flush succeeded with the bus down")
	}
	rec.err = nil
	if err := l.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(rec.data) != 2 {
		t.Fatalf("%d events, want 2 (a full batch and one record)", len(rec.data))
	}
	first := rec.data[0].(events.TelemetryLogs).Records
	r := first[0]
	if len(first) != MaxLogBatch || r.Service != "gateway" || r.Model != "fraud" || r.ModelVersion != "v2" || r.Severity != "WARN" {
		t.Fatalf("first batch: %d records, first %+v", len(first), r)
	}
	if rec.tried[0] != rec.ids[0] || rec.ids[0] == rec.ids[1] {
		t.Fatalf("ids tried %v, published %v: want the failed batch retried under its id, and two ids", rec.tried, rec.ids)
	}
}
