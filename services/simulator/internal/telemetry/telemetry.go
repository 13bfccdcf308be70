// Package telemetry sets up the OpenTelemetry SDK for the simulator's three
// tiers, exactly as any instrumented service would: one resource per tier
// (service.name), and OTLP exporters for metrics, traces and logs that read
// the standard OTEL_EXPORTER_OTLP_* variables. Nothing here knows Medic:
// the endpoint is whatever OTLP receiver the variables point at.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/bridges/otelslog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/metric"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Protocols are the values of OTEL_EXPORTER_OTLP_PROTOCOL this program
// speaks; http/protobuf is the specification's default.
const (
	ProtocolGRPC = "grpc"
	ProtocolHTTP = "http/protobuf"
)

// Config says how to export.
type Config struct {
	// Protocol is ProtocolGRPC or ProtocolHTTP.
	Protocol string
	// MetricInterval is how often metrics are exported. The SDK's default
	// is a minute; a detector that must see a failure within seconds needs
	// exports every second or faster.
	MetricInterval time.Duration
	// Namespace and Instance fill service.namespace and service.instance.id.
	Namespace, Instance string
}

// Tier is one service's instrumentation.
type Tier struct {
	Meter  metric.Meter
	Tracer trace.Tracer
	// Log writes log records of this service through the OTLP log exporter.
	Log *slog.Logger
}

// Telemetry is the instrumentation of every tier.
type Telemetry struct {
	Tiers    map[string]Tier
	shutdown []func(context.Context) error
}

// Setup builds one set of providers per service name. The exporters connect
// lazily, so Setup succeeds while the receiver is still down; what fails to
// export is reported to the SDK's error handler (see otel.SetErrorHandler).
func Setup(ctx context.Context, cfg Config, services ...string) (*Telemetry, error) {
	if cfg.Protocol != ProtocolGRPC && cfg.Protocol != ProtocolHTTP {
		return nil, fmt.Errorf("OTLP protocol %q: use %q or %q (OTEL_EXPORTER_OTLP_PROTOCOL)", cfg.Protocol, ProtocolGRPC, ProtocolHTTP)
	}
	t := &Telemetry{Tiers: map[string]Tier{}}
	for _, svc := range services {
		tier, err := t.setupTier(ctx, cfg, svc)
		if err != nil {
			_ = t.Shutdown(ctx)
			return nil, fmt.Errorf("set up OpenTelemetry for %s: %w", svc, err)
		}
		t.Tiers[svc] = tier
	}
	return t, nil
}

// SetupInstances adds n instances of svc, each with providers of its own
// whose resource names the instance (service.instance.id) and its pod
// (k8s.pod.name), both "<svc>-<i>", as a service run as n pods exports.
func (t *Telemetry) SetupInstances(ctx context.Context, cfg Config, svc string, n int) ([]Tier, error) {
	out := make([]Tier, 0, n)
	for i := range n {
		id := fmt.Sprintf("%s-%d", svc, i)
		tier, err := t.setupResource(ctx, cfg, semconv.ServiceName(svc), semconv.ServiceNamespace(cfg.Namespace),
			semconv.ServiceInstanceID(id), semconv.K8SPodName(id))
		if err != nil {
			return nil, fmt.Errorf("set up OpenTelemetry for %s: %w", id, err)
		}
		out = append(out, tier)
	}
	return out, nil
}

func (t *Telemetry) setupTier(ctx context.Context, cfg Config, svc string) (Tier, error) {
	return t.setupResource(ctx, cfg, semconv.ServiceName(svc), semconv.ServiceNamespace(cfg.Namespace), semconv.ServiceInstanceID(cfg.Instance))
}

func (t *Telemetry) setupResource(ctx context.Context, cfg Config, attrs ...attribute.KeyValue) (Tier, error) {
	// Schemaless: the SDK's default resource carries its own schema URL,
	// which a second one would conflict with.
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(attrs...))
	if err != nil {
		return Tier{}, err
	}
	me, te, le, err := exporters(ctx, cfg.Protocol)
	if err != nil {
		return Tier{}, err
	}
	var readerOpts []sdkmetric.PeriodicReaderOption
	// The standard variable wins over the program's default, as users expect.
	if os.Getenv("OTEL_METRIC_EXPORT_INTERVAL") == "" && cfg.MetricInterval > 0 {
		readerOpts = append(readerOpts, sdkmetric.WithInterval(cfg.MetricInterval))
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(sdkmetric.NewPeriodicReader(me, readerOpts...)))
	// Spans leave within a second (the SDK's default is 5 s), so that an
	// analysis started seconds after a failure sees its traces.
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithBatcher(te, sdktrace.WithBatchTimeout(time.Second)))
	lp := sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(sdklog.NewBatchProcessor(le)))
	t.shutdown = append(t.shutdown, mp.Shutdown, tp.Shutdown, lp.Shutdown)
	const scope = "github.com/medic-sre/medic/services/simulator"
	return Tier{
		Meter:  mp.Meter(scope),
		Tracer: tp.Tracer(scope),
		Log:    slog.New(otelslog.NewHandler(scope, otelslog.WithLoggerProvider(lp))),
	}, nil
}

// exporters makes the three OTLP exporters of one protocol. Endpoints,
// headers, TLS and compression come from the OTEL_EXPORTER_OTLP_* variables.
func exporters(ctx context.Context, protocol string) (sdkmetric.Exporter, sdktrace.SpanExporter, sdklog.Exporter, error) {
	if protocol == ProtocolGRPC {
		me, err1 := otlpmetricgrpc.New(ctx)
		te, err2 := otlptracegrpc.New(ctx)
		le, err3 := otlploggrpc.New(ctx)
		return me, te, le, errors.Join(err1, err2, err3)
	}
	me, err1 := otlpmetrichttp.New(ctx)
	te, err2 := otlptracehttp.New(ctx)
	le, err3 := otlploghttp.New(ctx)
	return me, te, le, errors.Join(err1, err2, err3)
}

// Shutdown flushes and stops every provider: the last metrics, spans and
// log records are exported before it returns (or ctx ends).
func (t *Telemetry) Shutdown(ctx context.Context) error {
	var errs []error
	for _, f := range t.shutdown {
		errs = append(errs, f(ctx))
	}
	return errors.Join(errs...)
}

// ProtocolFromEnv reads OTEL_EXPORTER_OTLP_PROTOCOL, defaulting to
// http/protobuf as the specification does.
func ProtocolFromEnv() string {
	if p := strings.TrimSpace(os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")); p != "" {
		return p
	}
	return ProtocolHTTP
}
