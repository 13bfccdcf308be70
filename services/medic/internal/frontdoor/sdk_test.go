package frontdoor

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/metric"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// sdkTransport builds the SDK's three exporters for one OTLP transport,
// as an application configures them.
type sdkTransport struct {
	name    string
	metrics func(ctx context.Context, d *door) (sdkmetric.Exporter, error)
	traces  func(ctx context.Context, d *door) (sdktrace.SpanExporter, error)
	logs    func(ctx context.Context, d *door) (sdklog.Exporter, error)
}

var sdkTransports = []sdkTransport{
	{
		name: "grpc",
		metrics: func(ctx context.Context, d *door) (sdkmetric.Exporter, error) {
			return otlpmetricgrpc.New(ctx, otlpmetricgrpc.WithEndpoint(d.stack.OTLPGRPCAddr), otlpmetricgrpc.WithInsecure())
		},
		traces: func(ctx context.Context, d *door) (sdktrace.SpanExporter, error) {
			return otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(d.stack.OTLPGRPCAddr), otlptracegrpc.WithInsecure(),
				otlptracegrpc.WithCompressor("gzip"))
		},
		logs: func(ctx context.Context, d *door) (sdklog.Exporter, error) {
			return otlploggrpc.New(ctx, otlploggrpc.WithEndpoint(d.stack.OTLPGRPCAddr), otlploggrpc.WithInsecure())
		},
	},
	{
		name: "http",
		metrics: func(ctx context.Context, d *door) (sdkmetric.Exporter, error) {
			return otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpointURL("http://"+d.stack.OTLPHTTPAddr+"/v1/metrics"),
				otlpmetrichttp.WithCompression(otlpmetrichttp.GzipCompression))
		},
		traces: func(ctx context.Context, d *door) (sdktrace.SpanExporter, error) {
			return otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL("http://"+d.stack.OTLPHTTPAddr+"/v1/traces"))
		},
		logs: func(ctx context.Context, d *door) (sdklog.Exporter, error) {
			return otlploghttp.New(ctx, otlploghttp.WithEndpointURL("http://"+d.stack.OTLPHTTPAddr+"/v1/logs"))
		},
	},
}

// sent is what an SDK application sent: its service and the ids of its
// trace.
type sent struct {
	service                 string
	traceID                 string
	predict, features, read string // span ids
}

// testSDK sends a counter, a histogram, a gauge, a trace of three spans and
// two log records with the OpenTelemetry Go SDK, and finds them in
// ClickHouse and on the bus.
func testSDK(t *testing.T, d *door, tr sdkTransport) {
	s := sendSDK(t, d, tr)
	eventually(t, rowsTimeout, func() string { return missingSDKMetrics(d.metrics(t, s.service)) })
	eventually(t, rowsTimeout, func() string { return wrongSDKSpans(d.spans(t, s.service), s) })
	eventually(t, rowsTimeout, func() string { return wrongSDKLogs(d.logs(t, s.service), s) })
	checkSDKEvents(t, d, s)
}

func sendSDK(t *testing.T, d *door, tr sdkTransport) sent {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := sent{service: "fd-sdk-" + tr.name}
	res := resource.NewSchemaless(attribute.String("service.name", s.service),
		attribute.String("ml.model.name", "fraud"), attribute.String("ml.model.version", "v7"))

	mexp, err := tr.metrics(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res),
		sdkmetric.WithReader(sdkmetric.NewPeriodicReader(mexp, sdkmetric.WithInterval(time.Hour))))
	meter := mp.Meter("frontdoor")
	predictions, _ := meter.Int64Counter("predictions")
	latency, _ := meter.Float64Histogram("latency_ms", metric.WithExplicitBucketBoundaries(10, 100))
	gpu, _ := meter.Float64Gauge("gpu_util")
	predictions.Add(ctx, 10)
	for _, v := range []float64{5, 50, 500} {
		latency.Record(ctx, v)
	}
	gpu.Record(ctx, 0.5)
	// Two exports of the cumulative counter, the second at shutdown: it
	// yields the rate. (One more ForceFlush would add a third export, of
	// the same total, with a rate of 0.)
	if err := mp.ForceFlush(ctx); err != nil {
		t.Fatalf("metrics export: %v", err)
	}
	predictions.Add(ctx, 30)
	if err := mp.Shutdown(ctx); err != nil {
		t.Fatalf("meter provider shutdown (the last export): %v", err)
	}

	texp, err := tr.traces(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithBatcher(texp))
	tracer := tp.Tracer("frontdoor")
	pctx, predict := tracer.Start(ctx, "predict", trace.WithSpanKind(trace.SpanKindServer))
	fctx, features := tracer.Start(pctx, "features")
	_, read := tracer.Start(fctx, "feature-store.get", trace.WithSpanKind(trace.SpanKindClient))
	read.End()
	features.SetStatus(otelcodes.Error, "feature store timeout")

	lexp, err := tr.logs(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	lp := sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(sdklog.NewBatchProcessor(lexp)))
	logger := lp.Logger("frontdoor")
	var loaded, failed otellog.Record
	loaded.SetTimestamp(time.Now())
	loaded.SetSeverity(otellog.SeverityInfo)
	loaded.SetBody(attribute.StringValue("model fraud v7 loaded"))
	logger.Emit(ctx, loaded)
	failed.SetTimestamp(time.Now().Add(time.Millisecond))
	failed.SetSeverity(otellog.SeverityError)
	failed.SetBody(attribute.StringValue("prediction failed: feature store timeout"))
	logger.Emit(fctx, failed) // inside the features span: carries its trace context
	features.End()
	predict.End()

	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("tracer provider shutdown (exports the spans): %v", err)
	}
	if err := lp.Shutdown(ctx); err != nil {
		t.Fatalf("logger provider shutdown (exports the logs): %v", err)
	}
	s.traceID = predict.SpanContext().TraceID().String()
	s.predict, s.features, s.read = predict.SpanContext().SpanID().String(), features.SpanContext().SpanID().String(),
		read.SpanContext().SpanID().String()
	return s
}

// missingSDKMetrics checks the rows of the counter (totals 10 then 40 and
// the rate between), the histogram in Prometheus' layout and the gauge.
func missingSDKMetrics(rows []metricRow) string {
	want := []wantPoint{
		{name: "predictions", value: 10}, {name: "predictions", value: 40},
		{name: "latency_ms_bucket", attrs: map[string]string{"le": "10"}, value: 1},
		{name: "latency_ms_bucket", attrs: map[string]string{"le": "100"}, value: 2},
		{name: "latency_ms_bucket", attrs: map[string]string{"le": "+Inf"}, value: 3},
		{name: "latency_ms_count", value: 3}, {name: "latency_ms_sum", value: 555},
		{name: "gpu_util", value: 0.5},
	}
	if m := missingPoints(rows, want); m != "" {
		return m
	}
	var totals, rates []metricRow
	for _, r := range rows {
		if r.Model != "fraud" || r.ModelVersion != "v7" {
			return fmt.Sprintf("row %s: model columns %q %q, want fraud v7", r, r.Model, r.ModelVersion)
		}
		if _, ok := r.Attrs["ml.model.version"]; ok {
			return fmt.Sprintf("row %s kept ml.model.version as an attribute", r)
		}
		switch r.Name {
		case "predictions":
			totals = append(totals, r)
		case "predictions_rate":
			rates = append(rates, r)
		}
	}
	if len(totals) != 2 || len(rates) != 1 {
		return fmt.Sprintf("predictions: %d total rows and %d predictions_rate rows, want 2 and 1 (the first export has no rate): %v %v",
			len(totals), len(rates), totals, rates)
	}
	want30 := 30 / (float64(totals[1].TimeUnixNano-totals[0].TimeUnixNano) / 1e9)
	if math.Abs(rates[0].Value-want30) > 1e-6*want30 {
		return fmt.Sprintf("predictions_rate = %g, want %g (30 over the time between the two exports)", rates[0].Value, want30)
	}
	return ""
}

// wrongSDKSpans checks the trace: three spans, their parents, kinds and
// the error status of the features span.
func wrongSDKSpans(rows []spanRow, s sent) string {
	type want struct {
		name, id, parent, kind string
		status                 uint8
		message                string
	}
	wants := []want{
		{"predict", s.predict, "", "server", 0, ""},
		{"features", s.features, s.predict, "internal", 2, "feature store timeout"},
		{"feature-store.get", s.read, s.features, "client", 0, ""},
	}
	if len(rows) != len(wants) {
		return fmt.Sprintf("%d span rows of %s, want %d: %+v", len(rows), s.service, len(wants), rows)
	}
	var wrong []string
	for _, w := range wants {
		i := slices.IndexFunc(rows, func(r spanRow) bool { return r.SpanID == w.id })
		if i < 0 {
			wrong = append(wrong, fmt.Sprintf("span %s (%s) missing", w.name, w.id))
			continue
		}
		r := rows[i]
		if r.TraceID != s.traceID || r.ParentSpanID != w.parent || r.Name != w.name || r.Kind != w.kind ||
			r.StatusCode != w.status || r.StatusMessage != w.message || r.Model != "fraud" || r.ModelVersion != "v7" {
			wrong = append(wrong, fmt.Sprintf("span %s: got %+v, want trace %s parent %q kind %s status %d %q model fraud v7",
				w.name, r, s.traceID, w.parent, w.kind, w.status, w.message))
		}
	}
	return strings.Join(wrong, "; ")
}

// wrongSDKLogs checks the two log records: the INFO one without trace
// context, the ERROR one in the features span.
func wrongSDKLogs(rows []logRow, s sent) string {
	if len(rows) != 2 {
		return fmt.Sprintf("%d log rows of %s, want 2: %+v", len(rows), s.service, rows)
	}
	info, failed := rows[0], rows[1]
	if info.Severity != "INFO" || info.Body != "model fraud v7 loaded" || info.TraceID != "" {
		return fmt.Sprintf("first log row %+v, want INFO \"model fraud v7 loaded\" without a trace", info)
	}
	if failed.Severity != "ERROR" || failed.Body != "prediction failed: feature store timeout" ||
		failed.TraceID != s.traceID || failed.SpanID != s.features {
		return fmt.Sprintf("second log row %+v, want ERROR in trace %s span %s", failed, s.traceID, s.features)
	}
	for _, r := range rows {
		if r.Model != "fraud" || r.ModelVersion != "v7" {
			return fmt.Sprintf("log row %+v: want model fraud v7", r)
		}
	}
	return ""
}

// checkSDKEvents finds the service's points, spans and log records in the
// telemetry events on the bus.
func checkSDKEvents(t *testing.T, d *door, s sent) {
	names := map[string]bool{}
	for _, ev := range d.telemetry(t, events.TypeTelemetryPoints) {
		for _, p := range ev.Data.(events.TelemetryPoints).Points {
			if p.Service == s.service {
				names[p.Name] = true
			}
		}
	}
	for _, n := range []string{"predictions", "predictions_rate", "latency_ms_bucket", "latency_ms_count", "latency_ms_sum", "gpu_util"} {
		if !names[n] {
			t.Errorf("no %s point of %s in the telemetry.points events on the bus (points there: %v)", n, s.service, names)
		}
	}
	spans := map[string]bool{}
	for _, ev := range d.telemetry(t, events.TypeTelemetrySpans) {
		for _, sp := range ev.Data.(events.TelemetrySpans).Spans {
			if sp.Service == s.service && sp.TraceID == s.traceID {
				spans[sp.SpanID] = true
			}
		}
	}
	if !spans[s.predict] || !spans[s.features] || !spans[s.read] || len(spans) != 3 {
		t.Errorf("telemetry.spans events on the bus hold spans %v of trace %s, want %s %s %s", spans, s.traceID, s.predict, s.features, s.read)
	}
	var severities []string
	for _, ev := range d.telemetry(t, events.TypeTelemetryLogs) {
		for _, r := range ev.Data.(events.TelemetryLogs).Records {
			if r.Service == s.service {
				severities = append(severities, r.Severity)
			}
		}
	}
	slices.Sort(severities)
	if !slices.Equal(severities, []string{"ERROR", "INFO"}) {
		t.Errorf("telemetry.logs events on the bus hold records %v of %s, want ERROR and INFO", severities, s.service)
	}
}
