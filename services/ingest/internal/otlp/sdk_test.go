package otlp

import (
	"context"
	"maps"
	"testing"
	"time"

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

// sdkResource is the resource of the watched system in these tests.
var sdkResource = resource.NewSchemaless(
	attribute.String("service.name", "model-server"),
	attribute.String("ml.model.name", "fraud"),
	attribute.String("k8s.pod.name", "model-server-0"),
	attribute.String("deployment.environment", "prod"),
	attribute.String("telemetry.sdk.language", "go"),
)

// transport builds the SDK's exporters for one OTLP transport.
type transport struct {
	name    string
	metrics func(ctx context.Context, h *harness) (sdkmetric.Exporter, error)
	traces  func(ctx context.Context, h *harness) (sdktrace.SpanExporter, error)
	logs    func(ctx context.Context, h *harness) (sdklog.Exporter, error)
}

// transports are the SDK exporters over gRPC and HTTP; the trace exporters
// compress with gzip.
var transports = []transport{
	{
		name: "grpc",
		metrics: func(ctx context.Context, h *harness) (sdkmetric.Exporter, error) {
			return otlpmetricgrpc.New(ctx, otlpmetricgrpc.WithEndpoint(h.grpcAddr), otlpmetricgrpc.WithInsecure())
		},
		traces: func(ctx context.Context, h *harness) (sdktrace.SpanExporter, error) {
			return otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(h.grpcAddr), otlptracegrpc.WithInsecure(), otlptracegrpc.WithCompressor("gzip"))
		},
		logs: func(ctx context.Context, h *harness) (sdklog.Exporter, error) {
			return otlploggrpc.New(ctx, otlploggrpc.WithEndpoint(h.grpcAddr), otlploggrpc.WithInsecure())
		},
	},
	{
		name: "http",
		metrics: func(ctx context.Context, h *harness) (sdkmetric.Exporter, error) {
			return otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpointURL(h.http.URL+PathMetrics))
		},
		traces: func(ctx context.Context, h *harness) (sdktrace.SpanExporter, error) {
			return otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(h.http.URL+PathTraces), otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
		},
		logs: func(ctx context.Context, h *harness) (sdklog.Exporter, error) {
			return otlploghttp.New(ctx, otlploghttp.WithEndpointURL(h.http.URL+PathLogs))
		},
	},
}

func TestSDKMetrics(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			ctx := context.Background()
			h := newHarness(t, Config{})
			exp, err := tr.metrics(ctx, h)
			if err != nil {
				t.Fatal(err)
			}
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(sdkResource),
				sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(time.Hour))))
			defer mp.Shutdown(ctx)
			meter := mp.Meter("test")
			v2 := metric.WithAttributes(attribute.String("ml.model.version", "v2"))
			requests, _ := meter.Int64Counter("requests")
			latency, _ := meter.Float64Histogram("latency_ms", metric.WithExplicitBucketBoundaries(10, 100))
			gpu, _ := meter.Float64Gauge("gpu_util")

			requests.Add(ctx, 10, v2)
			for _, v := range []float64{5, 50, 500} {
				latency.Record(ctx, v, v2)
			}
			gpu.Record(ctx, 0.5, v2)
			if err := mp.ForceFlush(ctx); err != nil {
				t.Fatal(err)
			}
			requests.Add(ctx, 30, v2)
			for _, v := range []float64{7, 70} {
				latency.Record(ctx, v, v2)
			}
			if err := mp.ForceFlush(ctx); err != nil {
				t.Fatal(err)
			}

			pts := h.points(t)
			for _, p := range pts {
				if p.Service != "model-server" || p.Model != "fraud" || p.ModelVersion != "v2" {
					t.Fatalf("point %s scope = %q %q %q, want model-server fraud v2", p.Name, p.Service, p.Model, p.ModelVersion)
				}
				if p.Attributes["k8s.pod.name"] != "model-server-0" || p.Attributes["deployment.environment"] != "prod" {
					t.Fatalf("point %s lost resource attributes: %v", p.Name, p.Attributes)
				}
				if _, ok := p.Attributes["telemetry.sdk.language"]; ok {
					t.Fatalf("point %s kept telemetry.sdk.language", p.Name)
				}
				if _, ok := p.Attributes["ml.model.version"]; ok {
					t.Fatalf("point %s kept ml.model.version as an attribute", p.Name)
				}
			}
			totals := named(pts, "requests")
			if len(totals) != 2 || totals[0].Value != 10 || totals[1].Value != 40 {
				t.Fatalf("requests totals = %+v, want 10 then 40", totals)
			}
			rates := named(pts, "requests_rate")
			if len(rates) != 1 {
				t.Fatalf("requests_rate points = %+v, want one (the first point has none)", rates)
			}
			want := 30 / (float64(totals[1].TimeUnixNano-totals[0].TimeUnixNano) / 1e9)
			if d := rates[0].Value - want; d > 1e-6*want || d < -1e-6*want {
				t.Fatalf("requests_rate = %g, want %g", rates[0].Value, want)
			}
			// The SDK's histogram is cumulative (its default): the first
			// export, of a fresh process, is stored whole and the second as
			// only its own interval's observations.
			bucketPts := named(pts, "latency_ms_bucket")
			if len(bucketPts) != 6 {
				t.Fatalf("latency_ms_bucket points = %+v, want 3 per export", bucketPts)
			}
			for i, want := range []map[string]float64{{"10": 1, "100": 2, "+Inf": 3}, {"10": 1, "100": 2, "+Inf": 2}} {
				buckets := map[string]float64{}
				for _, p := range bucketPts[3*i : 3*i+3] {
					buckets[p.Attributes["le"]] = p.Value
				}
				if !maps.Equal(buckets, want) {
					t.Fatalf("export %d: latency_ms buckets = %v, want %v", i+1, buckets, want)
				}
			}
			if s := named(pts, "latency_ms_sum"); len(s) != 2 || s[0].Value != 555 || s[1].Value != 77 {
				t.Fatalf("latency_ms_sum = %+v, want 555 then 77", s)
			}
			if c := named(pts, "latency_ms_count"); len(c) != 2 || c[0].Value != 3 || c[1].Value != 2 {
				t.Fatalf("latency_ms_count = %+v, want 3 then 2", c)
			}
			if mm := append(named(pts, "latency_ms_min"), named(pts, "latency_ms_max")...); len(mm) != 0 {
				t.Fatalf("a cumulative histogram kept _min/_max, which cover its whole life: %+v", mm)
			}
			if g := named(pts, "gpu_util"); len(g) == 0 || g[0].Value != 0.5 {
				t.Fatalf("gpu_util = %+v, want 0.5", g)
			}
		})
	}
}

func TestSDKTraces(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			ctx := context.Background()
			h := newHarness(t, Config{})
			exp, err := tr.traces(ctx, h)
			if err != nil {
				t.Fatal(err)
			}
			tp := sdktrace.NewTracerProvider(sdktrace.WithResource(sdkResource), sdktrace.WithSyncer(exp))
			defer tp.Shutdown(ctx)
			tracer := tp.Tracer("test")
			pctx, parent := tracer.Start(ctx, "predict", trace.WithSpanKind(trace.SpanKindServer))
			_, child := tracer.Start(pctx, "features", trace.WithAttributes(attribute.String("ml.model.version", "v2"), attribute.Int("rows", 3)))
			child.SetStatus(otelcodes.Error, "feature store down")
			child.End()
			parent.End()

			spans := h.spans(t)
			if len(spans) != 2 {
				t.Fatalf("got %d spans, want 2", len(spans))
			}
			c, p := spans[0], spans[1]
			if c.Name != "features" {
				c, p = p, c
			}
			if c.TraceID != parent.SpanContext().TraceID().String() || c.SpanID != child.SpanContext().SpanID().String() ||
				c.ParentSpanID != p.SpanID || p.ParentSpanID != "" {
				t.Fatalf("ids: child %+v parent %+v", c, p)
			}
			if p.Kind != "server" || c.Kind != "internal" || c.StatusCode != 2 || c.StatusMessage != "feature store down" {
				t.Fatalf("kind/status: child %+v parent %+v", c, p)
			}
			if c.Service != "model-server" || c.Model != "fraud" || c.ModelVersion != "v2" || c.Attributes["rows"] != "3" {
				t.Fatalf("scope: %+v", c)
			}
		})
	}
}

func TestSDKLogs(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			ctx := context.Background()
			h := newHarness(t, Config{})
			exp, err := tr.logs(ctx, h)
			if err != nil {
				t.Fatal(err)
			}
			lp := sdklog.NewLoggerProvider(sdklog.WithResource(sdkResource), sdklog.WithProcessor(sdklog.NewSimpleProcessor(exp)))
			defer lp.Shutdown(ctx)
			tp := sdktrace.NewTracerProvider()
			sctx, span := tp.Tracer("test").Start(ctx, "predict")
			var rec otellog.Record
			rec.SetTimestamp(time.Now())
			rec.SetSeverity(otellog.SeverityFatal)
			rec.SetSeverityText("fatal")
			rec.SetBody(attribute.StringValue("model crashed"))
			rec.AddAttributes(attribute.String("ml.model.version", "v2"), attribute.Int("code", 7))
			lp.Logger("test").Emit(sctx, rec)
			span.End()
			if err := lp.ForceFlush(ctx); err != nil {
				t.Fatal(err)
			}

			logs := h.logs(t)
			if len(logs) != 1 {
				t.Fatalf("got %d log records, want 1", len(logs))
			}
			l := logs[0]
			if l.Severity != "ERROR" || l.Attributes[keySeverityText] != "fatal" || l.Body != "model crashed" {
				t.Fatalf("severity/body: %+v", l)
			}
			if l.TraceID != span.SpanContext().TraceID().String() || l.SpanID != span.SpanContext().SpanID().String() {
				t.Fatalf("trace context: %+v", l)
			}
			if l.Service != "model-server" || l.Model != "fraud" || l.ModelVersion != "v2" || l.Attributes["code"] != "7" {
				t.Fatalf("scope: %+v", l)
			}
		})
	}
}
