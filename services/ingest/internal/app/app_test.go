package app

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/medic-sre/medic/pkg/store"
	"github.com/medic-sre/medic/services/ingest/internal/otlp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
)

// The ingest service, on a real NATS and no ClickHouse at all (it needs
// none: the address points where nothing listens), is ready, takes OTLP
// over gRPC from the OpenTelemetry SDK and over HTTP as the Collector's
// otlphttp exporter sends JSON, and publishes both as telemetry events
// before it answers.
func TestReceivesOTLPOverBothTransports(t *testing.T) {
	nats := servicetest.StartNATS(t)
	grpcLn, httpLn := servicetest.Listen(t), servicetest.Listen(t)
	opts := Options{Service: service.Options{NATSURL: nats.URL(), LogLevel: "error", ShutdownTimeout: 10 * time.Second,
		ClickHouse: store.Config{Addr: "127.0.0.1:1", Database: "none"}},
		OTLPGRPCAddr: grpcLn.Addr().String(), OTLPHTTPAddr: httpLn.Addr().String(), OTLP: otlp.DefaultConfig()}
	svc := servicetest.Run(t, Name, func(ctx context.Context, ln net.Listener) error {
		return RunWithListeners(ctx, opts, Listeners{Runtime: ln, OTLPGRPC: grpcLn, OTLPHTTP: httpLn})
	})
	svc.WaitReady(t)
	pub := servicetest.Connect(t, nats.URL())
	subject := events.Subject(events.TypeTelemetryPoints)

	// The OpenTelemetry SDK over gRPC, as a user's service sends.
	ctx := context.Background()
	exp, err := otlpmetricgrpc.New(ctx, otlpmetricgrpc.WithEndpoint(grpcLn.Addr().String()), otlpmetricgrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(resource.NewSchemaless(attribute.String("service.name", "model-server"))),
		sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(time.Hour))))
	gauge, _ := mp.Meter("test").Float64Gauge("gpu_util")
	gauge.Record(ctx, 0.5)
	if err := mp.ForceFlush(ctx); err != nil {
		t.Fatalf("OTLP/gRPC export: %v", err)
	}
	_ = mp.Shutdown(ctx)
	// ForceFlush returned: the export was answered, so its data is durable.
	afterGRPC := servicetest.Count(t, pub.JetStream(), bus.StreamTelemetry, subject)
	if afterGRPC == 0 {
		t.Fatal("the gRPC export was answered, but no telemetry event is on the stream")
	}

	// A Collector-style OTLP/HTTP JSON request.
	body, err := os.ReadFile("../otlp/testdata/collector_metrics.json")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post("http://"+httpLn.Addr().String()+"/v1/metrics", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var answer map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&answer)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("OTLP/HTTP answered %d %v", resp.StatusCode, answer)
	}
	if got := servicetest.Count(t, pub.JetStream(), bus.StreamTelemetry, subject); got <= afterGRPC {
		t.Fatalf("the HTTP export was answered 200, but the stream holds %d telemetry events, as before it", got)
	}
	var gpu bool
	for _, ev := range servicetest.ReadEvents(t, pub.JetStream(), bus.StreamTelemetry, subject) {
		for _, p := range servicetest.As[events.TelemetryPoints](t, ev).Points {
			gpu = gpu || p.Name == "gpu_util" && p.Service == "model-server" && p.Value == 0.5
		}
	}
	if !gpu {
		t.Error("the SDK's gpu_util gauge of model-server is not among the published points")
	}
}
