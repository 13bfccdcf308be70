package app

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/archive"
	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/medic-sre/medic/pkg/store"
	"github.com/medic-sre/medic/services/ingest/internal/backlog"
	"github.com/medic-sre/medic/services/ingest/internal/otlp"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// exportRequest is one OTLP gauge point of value v, so that every request
// makes an event of its own (the same content would fold into one).
func exportRequest(v float64) pmetricotlp.ExportRequest {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "model-server")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("gpu_util")
	p := m.SetEmptyGauge().DataPoints().AppendEmpty()
	p.SetDoubleValue(v)
	p.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	return pmetricotlp.NewExportRequestFromMetrics(md)
}

// postMetrics sends one export over OTLP/HTTP and returns its answer.
func postMetrics(t *testing.T, url string, v float64) (code int, retryAfter, body string) {
	t.Helper()
	raw, err := exportRequest(v).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(url+"/v1/metrics", "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), string(b)
}

// metric reads one series from the service's /metrics; a series not yet
// there is 0.
func metric(t *testing.T, url, series string) float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	return 0
}

// With an archiver-metrics consumer that acks nothing, the service takes
// exports until the consumer holds more than MAX_BACKLOG events, then
// answers OTLP/HTTP 429 with Retry-After and OTLP/gRPC RESOURCE_EXHAUSTED,
// both naming the limit, and counts each refusal by reason in /metrics.
// Once the consumer has acked everything, exports are taken again.
func TestBackpressureWhenTheArchiverFallsBehind(t *testing.T) {
	nats := servicetest.StartNATS(t)
	grpcLn, httpLn := servicetest.Listen(t), servicetest.Listen(t)
	const maxBacklog = 3
	opts := Options{Service: service.Options{NATSURL: nats.URL(), LogLevel: "error", ShutdownTimeout: 10 * time.Second,
		ClickHouse: store.Config{Addr: "127.0.0.1:1", Database: "none"}},
		OTLPGRPCAddr: grpcLn.Addr().String(), OTLPHTTPAddr: httpLn.Addr().String(), OTLP: otlp.DefaultConfig(),
		Backlog: backlog.Options{Limits: backlog.Limits{MaxBacklog: maxBacklog}, Every: 20 * time.Millisecond}}
	svc := servicetest.Run(t, Name, func(ctx context.Context, ln net.Listener) error {
		return RunWithListeners(ctx, opts, Listeners{Runtime: ln, OTLPGRPC: grpcLn, OTLPHTTP: httpLn})
	})
	svc.WaitReady(t)
	admin := servicetest.Connect(t, nats.URL())
	ctx := context.Background()
	archiver, err := admin.JetStream().CreateOrUpdateConsumer(ctx, bus.StreamTelemetry, jetstream.ConsumerConfig{
		Durable: archive.DurableMetrics, AckPolicy: jetstream.AckExplicitPolicy,
		FilterSubject: events.Subject(events.TypeTelemetryPoints)})
	if err != nil {
		t.Fatal(err)
	}

	httpURL := "http://" + httpLn.Addr().String()
	accepted, sent := 0, 0
	var retryAfter, body string
	servicetest.Poll(t, "an export refused with 429", func() bool {
		sent++
		code, ra, b := postMetrics(t, httpURL, float64(sent))
		switch code {
		case http.StatusOK:
			accepted++
			return false
		case http.StatusTooManyRequests:
			retryAfter, body = ra, b
			return true
		}
		t.Fatalf("export answered %d: %s", code, b)
		return false
	})
	if accepted <= maxBacklog {
		t.Errorf("refused after %d accepted exports, want more than MAX_BACKLOG %d", accepted, maxBacklog)
	}
	if retryAfter != "5" || !strings.Contains(body, "behind on archiver-metrics (MAX_BACKLOG 3); retry later") {
		t.Errorf("429 with Retry-After %q and body %s; want 5 and the limit named", retryAfter, body)
	}

	cc, err := grpc.NewClient(grpcLn.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	_, err = pmetricotlp.NewGRPCClient(cc).Export(ctx, exportRequest(-1))
	if st := status.Convert(err); st.Code() != codes.ResourceExhausted || !strings.Contains(st.Message(), "MAX_BACKLOG 3") {
		t.Fatalf("gRPC export: %v %q, want RESOURCE_EXHAUSTED naming MAX_BACKLOG", st.Code(), st.Message())
	}
	if got := metric(t, svc.URL, `medic_ingest_otlp_rejected_total{reason="backpressure",signal="metrics"}`); got != 2 {
		t.Errorf("rejected{backpressure} = %v, want 2 (one HTTP, one gRPC export)", got)
	}
	if got := metric(t, svc.URL, "medic_ingest_backpressure"); got != 1 {
		t.Errorf("medic_ingest_backpressure = %v, want 1", got)
	}
	if got := metric(t, svc.URL, `medic_ingest_backlog_pending{consumer="archiver-metrics"}`); got <= maxBacklog {
		t.Errorf("pending gauge = %v, want more than %d", got, maxBacklog)
	}

	servicetest.Poll(t, "an export taken once the archiver acked everything", func() bool {
		for {
			batch, err := archiver.FetchNoWait(100)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for m := range batch.Messages() {
				if err := m.DoubleAck(ctx); err != nil {
					t.Fatal(err)
				}
				n++
			}
			if n == 0 {
				break
			}
		}
		sent++
		code, _, _ := postMetrics(t, httpURL, float64(sent))
		return code == http.StatusOK
	})
}
