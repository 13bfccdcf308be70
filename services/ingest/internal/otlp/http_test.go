package otlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"math"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/servicetest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// post sends body to the receiver's HTTP server.
func post(t *testing.T, url, contentType, encoding string, body []byte) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// readFile reads a fixture from testdata.
func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// metricsResponse decodes an OTLP metrics response in JSON.
func metricsResponse(t *testing.T, resp *http.Response) pmetricotlp.ExportResponse {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	out := pmetricotlp.NewExportResponse()
	if err := out.UnmarshalJSON(body); err != nil {
		t.Fatalf("response %s: %v", body, err)
	}
	return out
}

// gzipped compresses b.
func gzipped(b []byte) []byte {
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write(b)
	zw.Close()
	return zb.Bytes()
}

// A Collector's otlphttp exporter with encoding json sends what
// testdata/collector_*.json hold, gzipped as it does by default.
func TestHTTPCollectorJSON(t *testing.T) {
	h := newHarness(t, Config{})

	res := metricsResponse(t, post(t, h.http.URL+PathMetrics, "application/json", "gzip", gzipped(readFile(t, "collector_metrics.json"))))
	if n := res.PartialSuccess().RejectedDataPoints(); n != 0 {
		t.Fatalf("rejected %d: %s", n, res.PartialSuccess().ErrorMessage())
	}
	pts := h.points(t)
	q := named(pts, "queue_depth")
	if len(q) != 1 || q[0].Value != 7 || q[0].Service != "gateway" || q[0].Model != "fraud" || q[0].TimeUnixNano != 1700000000000000000 {
		t.Fatalf("queue_depth = %+v", q)
	}
	want := map[string]string{"service.namespace": "serving", "k8s.namespace.name": "ml", "k8s.node.name": "node-a", "queue": "inference"}
	for k, v := range want {
		if q[0].Attributes[k] != v {
			t.Errorf("queue_depth attribute %s = %q, want %q (all: %v)", k, q[0].Attributes[k], v, q[0].Attributes)
		}
	}
	if _, ok := q[0].Attributes["process.pid"]; ok {
		t.Errorf("process.pid kept: %v", q[0].Attributes)
	}
	if r := named(pts, "http_requests_rate"); len(r) != 1 || r[0].Value != 5 || r[0].ModelVersion != "v1" {
		t.Errorf("http_requests_rate = %+v, want one point of 5/s for v1", r)
	}
	if e := named(pts, "errors"); len(e) != 1 || e[0].Value != 5 {
		t.Errorf("errors (delta) = %+v, want 5", e)
	}
	if e := named(pts, "errors_rate"); len(e) != 1 || e[0].Value != 0.5 {
		t.Errorf("errors_rate (delta) = %+v, want 0.5", e)
	}
	buckets := map[string]float64{}
	for _, p := range named(pts, "latency_seconds_bucket") {
		buckets[p.Attributes["le"]] = p.Value
	}
	if buckets["0.1"] != 2 || buckets["0.5"] != 7 || buckets["+Inf"] != 10 || len(buckets) != 3 {
		t.Errorf("latency_seconds buckets = %v, want 0.1:2 0.5:7 +Inf:10", buckets)
	}

	resp := post(t, h.http.URL+PathTraces, "application/json", "", readFile(t, "collector_traces.json"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("traces: %d", resp.StatusCode)
	}
	spans := h.spans(t)
	if len(spans) != 1 {
		t.Fatalf("spans = %+v", spans)
	}
	s := spans[0]
	if s.TraceID != "5b8efff798038103d269b633813fc60c" || s.SpanID != "eee19b7ec3c1b174" || s.ParentSpanID != "eee19b7ec3c1b173" ||
		s.Kind != "client" || s.StatusCode != 2 || s.StatusMessage != "upstream unavailable" ||
		s.Service != "feature-service" || s.Model != "fraud" || s.ModelVersion != "v2" ||
		s.Attributes["http.response.status_code"] != "503" || s.Attributes["k8s.pod.name"] != "feature-service-1" ||
		s.EndUnixNano-s.StartUnixNano != 250000000 {
		t.Errorf("span = %+v", s)
	}

	resp = post(t, h.http.URL+PathLogs, "application/json", "", readFile(t, "collector_logs.json"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("logs: %d", resp.StatusCode)
	}
	logs := h.logs(t)
	if len(logs) != 2 {
		t.Fatalf("logs = %+v", logs)
	}
	if l := logs[0]; l.Severity != "WARN" || l.Attributes[keySeverityText] != "Warning" || l.TraceID != "5b8efff798038103d269b633813fc60c" ||
		l.SpanID != "eee19b7ec3c1b174" || l.ModelVersion != "v2" || l.Attributes["deployment.environment"] != "prod" {
		t.Errorf("log 0 = %+v", l)
	}
	if l := logs[1]; l.Severity != "ERROR" || l.TimeUnixNano != 1700000001000000000 || l.Body != `{"msg":"oom"}` {
		t.Errorf("log 1 = %+v", l)
	}
}

// Bad data points are rejected one by one and reported as a partial
// success; the good ones are published.
func TestHTTPPartialSuccess(t *testing.T) {
	h := newHarness(t, Config{})
	res := metricsResponse(t, post(t, h.http.URL+PathMetrics, "application/json", "", readFile(t, "mixed_metrics.json")))
	ps := res.PartialSuccess()
	if ps.RejectedDataPoints() != 4 {
		t.Fatalf("rejected %d, want 4: %s", ps.RejectedDataPoints(), ps.ErrorMessage())
	}
	for _, reason := range []string{ReasonFuture, ReasonUnsupported, ReasonMissingName, ReasonUnknownType, "MaxFutureSkew"} {
		if !strings.Contains(ps.ErrorMessage(), reason) {
			t.Errorf("message %q does not name %s", ps.ErrorMessage(), reason)
		}
	}
	pts := h.points(t)
	if q := named(pts, "queue_depth"); len(q) != 1 || q[0].Value != 7 {
		t.Errorf("queue_depth = %+v, want the past point only", q)
	}
	qs := map[string]float64{}
	for _, p := range named(pts, "latency_summary") {
		qs[p.Attributes["quantile"]] = p.Value
	}
	if qs["0.5"] != 2 || qs["0.99"] != 4 || len(named(pts, "latency_summary_count")) != 1 {
		t.Errorf("summary = %v", qs)
	}
	for reason, want := range map[string]float64{ReasonFuture: 1, ReasonUnsupported: 1, ReasonMissingName: 1, ReasonUnknownType: 1} {
		if got := h.rejectedCount(t, SignalMetrics, reason); got != want {
			t.Errorf("rejected{reason=%s} = %g, want %g", reason, got, want)
		}
	}
}

// badMetrics builds a protobuf request with a good point and points that
// are NaN, infinite, too large and have an attribute that is not UTF-8.
func badMetrics(t *testing.T) []byte {
	t.Helper()
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "gateway")
	g := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	g.SetName("load")
	dps := g.SetEmptyGauge().DataPoints()
	now := time.Now()
	for i, v := range []float64{0.5, math.NaN(), math.Inf(1), 1e20, 0.7} {
		dp := dps.AppendEmpty()
		dp.SetTimestamp(pcommonTime(now))
		dp.SetDoubleValue(v)
		dp.Attributes().PutInt("i", int64(i))
		if i == 4 {
			dp.Attributes().PutStr("bad", "\xff\xfe")
		}
	}
	b, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Protobuf, gzipped: NaN, Inf, out of range and invalid UTF-8 are each
// rejected and counted; the good point is published.
func TestHTTPProtobufGzipRejects(t *testing.T) {
	h := newHarness(t, Config{})
	resp := post(t, h.http.URL+PathMetrics, "application/x-protobuf", "gzip", gzipped(badMetrics(t)))
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/x-protobuf" {
		t.Fatalf("status %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	res := pmetricotlp.NewExportResponse()
	if err := res.UnmarshalProto(body); err != nil {
		t.Fatal(err)
	}
	if n := res.PartialSuccess().RejectedDataPoints(); n != 4 {
		t.Fatalf("rejected %d, want 4: %s", n, res.PartialSuccess().ErrorMessage())
	}
	if pts := h.points(t); len(pts) != 1 || pts[0].Value != 0.5 {
		t.Fatalf("published %+v, want the one good point", pts)
	}
	for reason, want := range map[string]float64{ReasonNaN: 2, ReasonOutOfRange: 1, ReasonUTF8: 1} {
		if got := h.rejectedCount(t, SignalMetrics, reason); got != want {
			t.Errorf("rejected{reason=%s} = %g, want %g", reason, got, want)
		}
	}
}

func TestHTTPErrors(t *testing.T) {
	h := newHarness(t, Config{MaxBodyBytes: 4096})
	big := bytes.Repeat([]byte(" "), 10000)
	tests := []struct {
		name, path, ct, enc string
		body                []byte
		want                int
		reason              string
	}{
		{name: "wrong content type", path: PathMetrics, ct: "text/plain", body: []byte("x"), want: 415, reason: "unsupported_media_type"},
		{name: "unknown encoding", path: PathTraces, ct: "application/json", enc: "br", body: []byte("{}"), want: 415, reason: "unsupported_media_type"},
		{name: "malformed json", path: PathLogs, ct: "application/json", body: []byte(`{"resourceLogs": [`), want: 400, reason: "malformed"},
		{name: "malformed protobuf", path: PathMetrics, ct: "application/x-protobuf", body: []byte{0xff, 0xff, 0xff}, want: 400, reason: "malformed"},
		{name: "malformed gzip", path: PathMetrics, ct: "application/json", enc: "gzip", body: []byte("not gzip"), want: 400, reason: "malformed"},
		{name: "too large", path: PathMetrics, ct: "application/json", body: big, want: 413, reason: "too_large"},
		{name: "too large after gzip", path: PathTraces, ct: "application/json", enc: "gzip", body: gzipped(big), want: 413, reason: "too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := post(t, h.http.URL+tt.path, tt.ct, tt.enc, tt.body)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.want, body)
			}
			if !bytes.Contains(body, []byte("message")) && tt.ct == "application/json" {
				t.Errorf("body %q is not a google.rpc.Status", body)
			}
		})
	}
	if got := h.rejectedCount(t, SignalMetrics, "malformed"); got != 2 {
		t.Errorf("rejected{metrics, malformed} = %g, want 2", got)
	}
	if got := h.rejectedCount(t, SignalTraces, "too_large"); got != 1 {
		t.Errorf("rejected{traces, too_large} = %g, want 1", got)
	}
}

// An export with nothing in it is a success.
func TestHTTPEmpty(t *testing.T) {
	h := newHarness(t, Config{})
	for _, path := range []string{PathMetrics, PathTraces, PathLogs} {
		resp := post(t, h.http.URL+path, "application/json", "", []byte("{}"))
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %s %s", path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
}

// A bus that cannot reach NATS makes the receiver answer 503 with
// Retry-After, within PublishTimeout.
func TestHTTPBusDown(t *testing.T) {
	nats := servicetest.StartNATS(t)
	b := servicetest.Connect(t, nats.URL())
	h := newHarnessWith(t, Config{PublishTimeout: time.Second, RetryAfter: 3 * time.Second}, b, b)
	nats.Shutdown()
	resp := post(t, h.http.URL+PathTraces, "application/json", "", readFile(t, "collector_traces.json"))
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "3" {
		t.Fatalf("status %d Retry-After %q: %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
}

// blockingPublisher holds every publish until release is closed.
type blockingPublisher struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (p *blockingPublisher) Emit(ctx context.Context, _ string, _ events.Data) (events.Meta, error) {
	p.once.Do(func() { close(p.entered) })
	select {
	case <-p.release:
		return events.Meta{}, nil
	case <-ctx.Done():
		return events.Meta{}, ctx.Err()
	}
}

// With MaxInFlight requests in flight, the next is answered 429.
func TestHTTPOverloaded(t *testing.T) {
	b := servicetest.Bus(t)
	pub := &blockingPublisher{entered: make(chan struct{}), release: make(chan struct{})}
	h := newHarnessWith(t, Config{MaxInFlight: 1}, b, pub)
	done := make(chan int)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, h.http.URL+PathTraces, bytes.NewReader(readFile(t, "collector_traces.json")))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	<-pub.entered
	resp := post(t, h.http.URL+PathTraces, "application/json", "", readFile(t, "collector_traces.json"))
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("second request: %d Retry-After %q, want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	close(pub.release)
	if code := <-done; code != http.StatusOK {
		t.Fatalf("first request: %d, want 200", code)
	}
}

// A client's retry of the same request publishes the same event ids, which
// the stream's duplicate window folds; a cumulative point retried maps to
// the same rate.
func TestHTTPRetryFolds(t *testing.T) {
	h := newHarness(t, Config{})
	for range 2 {
		metricsResponse(t, post(t, h.http.URL+PathMetrics, "application/json", "", readFile(t, "collector_metrics.json")))
		if resp := post(t, h.http.URL+PathTraces, "application/json", "", readFile(t, "collector_traces.json")); resp.StatusCode != 200 {
			t.Fatalf("traces: %d", resp.StatusCode)
		}
	}
	pts := h.points(t)
	if r := named(pts, "http_requests_rate"); len(r) != 1 {
		t.Errorf("http_requests_rate = %+v, want the retry folded", r)
	}
	if q := named(pts, "queue_depth"); len(q) != 1 {
		t.Errorf("queue_depth = %+v, want the retry folded", q)
	}
	if s := h.spans(t); len(s) != 1 {
		t.Errorf("spans = %d, want the retry folded", len(s))
	}
}

// Past MaxSeriesPerService, new series of a service are rejected with an
// error naming the limit; known series still pass.
func TestCardinalityLimit(t *testing.T) {
	h := newHarness(t, Config{MaxSeriesPerService: 2})
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "gateway")
	dps := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	dps.SetName("load")
	g := dps.SetEmptyGauge().DataPoints()
	for _, pod := range []string{"a", "b", "c", "a"} {
		dp := g.AppendEmpty()
		dp.SetTimestamp(pcommonTime(time.Now()))
		dp.SetDoubleValue(1)
		dp.Attributes().PutStr("pod", pod)
	}
	body, _ := pmetricotlp.NewExportRequestFromMetrics(md).MarshalJSON()
	ps := metricsResponse(t, post(t, h.http.URL+PathMetrics, "application/json", "", body)).PartialSuccess()
	if ps.RejectedDataPoints() != 1 || !strings.Contains(ps.ErrorMessage(), "limit of 2 series per service (MaxSeriesPerService)") {
		t.Fatalf("rejected %d: %s", ps.RejectedDataPoints(), ps.ErrorMessage())
	}
	if pts := h.points(t); len(pts) != 3 {
		t.Fatalf("published %d points, want 3", len(pts))
	}
	if got := h.rejectedCount(t, SignalMetrics, ReasonCardinality); got != 1 {
		t.Errorf("rejected{cardinality_limit} = %g", got)
	}
}

// A request larger than one event is split into events within the
// configured bounds, all acknowledged before the answer.
func TestSplitsLargeRequests(t *testing.T) {
	h := newHarness(t, Config{MaxEventItems: 100})
	td := ptraceotlp.NewExportRequest()
	ss := td.Traces().ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i := range 250 {
		s := ss.AppendEmpty()
		s.SetName("op")
		s.SetTraceID([16]byte{1, byte(i)})
		s.SetSpanID([8]byte{2, byte(i)})
		s.SetStartTimestamp(pcommonTime(time.Now()))
		s.SetEndTimestamp(pcommonTime(time.Now()))
	}
	body, _ := td.MarshalProto()
	if resp := post(t, h.http.URL+PathTraces, "application/x-protobuf", "", body); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	evs := servicetest.ReadEvents(t, h.bus.JetStream(), "MEDIC_TELEMETRY", events.Subject(events.TypeTelemetrySpans))
	if len(evs) != 3 {
		t.Fatalf("%d events, want 3 (100+100+50)", len(evs))
	}
	if s := h.spans(t); len(s) != 250 || s[0].Service != unknownService {
		t.Fatalf("%d spans, service %q", len(s), s[0].Service)
	}
}
