package app

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/medic-sre/medic/pkg/store"
	"github.com/medic-sre/medic/services/ingest/internal/otlp"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
)

// The ingest service takes an Alertmanager webhook (the token required) on
// its runtime port, and reads a Kafka telemetry topic (kfake, written with
// kafka-go), publishing both on the bus.
func TestAlertsAndKafkaThroughTheService(t *testing.T) {
	nats := servicetest.StartNATS(t)
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "telemetry"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	topics := filepath.Join(t.TempDir(), "kafka.yaml")
	if err := os.WriteFile(topics, []byte("topics:\n  - name: telemetry\n    format: telemetry\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	httpLn := servicetest.Listen(t)
	opts := Options{Service: service.Options{NATSURL: nats.URL(), LogLevel: "error", ShutdownTimeout: 10 * time.Second,
		ClickHouse: store.Config{Addr: "127.0.0.1:1", Database: "none"}},
		OTLPHTTPAddr: httpLn.Addr().String(), OTLP: otlp.DefaultConfig(), AlertsToken: "s3cret",
		KafkaBrokers: cluster.ListenAddrs()[0], KafkaGroup: "medic-ingest", KafkaConfig: topics}
	svc := servicetest.Run(t, Name, func(ctx context.Context, ln net.Listener) error {
		return RunWithListeners(ctx, opts, Listeners{Runtime: ln, OTLPHTTP: httpLn})
	})
	svc.WaitReady(t)
	pub := servicetest.Connect(t, nats.URL())

	body, err := os.ReadFile("../alerts/testdata/alertmanager.json")
	if err != nil {
		t.Fatal(err)
	}
	post := func(token string) int {
		req, _ := http.NewRequest(http.MethodPost, svc.URL+"/v1/alerts/alertmanager", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("wrong"); code != http.StatusUnauthorized {
		t.Fatalf("alert webhook with a wrong token answered %d, want 401", code)
	}
	if code := post("s3cret"); code != http.StatusOK {
		t.Fatalf("alert webhook answered %d, want 200", code)
	}
	if n := servicetest.Count(t, pub.JetStream(), bus.StreamEvents, events.Subject(events.TypeAnomalyDetected)); n == 0 {
		t.Fatal("the alert webhook answered 200, but no anomaly.detected is on the bus")
	}

	w := &kafkago.Writer{Addr: kafkago.TCP(cluster.ListenAddrs()...), Topic: "telemetry", BatchTimeout: 10 * time.Millisecond}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	point := `{"name":"inference.latency_ms","value":12.5,"time_unix_nano":1764547200000000000,"service":"model-server"}`
	if err := w.WriteMessages(ctx, kafkago.Message{Value: []byte(point)}); err != nil {
		t.Fatal(err)
	}
	subject := events.Subject(events.TypeTelemetryPoints)
	servicetest.PollFor(t, "the Kafka record published as telemetry", time.Minute, func() bool {
		return servicetest.Count(t, pub.JetStream(), bus.StreamTelemetry, subject) > 0
	})
	got := servicetest.As[events.TelemetryPoints](t, servicetest.ReadEvents(t, pub.JetStream(), bus.StreamTelemetry, subject)[0])
	if len(got.Points) != 1 || got.Points[0].Value != 12.5 || got.Points[0].Service != "model-server" {
		t.Fatalf("published points = %+v, want the record's one point", got.Points)
	}
}
