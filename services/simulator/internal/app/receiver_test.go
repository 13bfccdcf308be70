package app

import (
	"compress/gzip"
	"context"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetrics "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// receiver is a fake OTLP receiver, over HTTP (protobuf) or gRPC, that
// keeps what it receives flattened: one sample per metric data point, one
// entry per span and per log record, each with its resource's service.name.
type receiver struct {
	endpoint string

	mu            sync.Mutex
	metricExports int
	samples       []sample
	spans         []span
	logs          []logRecord
}

// sample is one data point: a counter's value, or a histogram's count and
// sum. Exports are cumulative, so the latest sample of a series is its total.
type sample struct {
	service, name string
	attrs         map[string]string
	timeUnixNano  uint64
	value, sum    float64
}

type span struct {
	service, name, traceID, spanID, parentID string
	startUnixNano                            uint64
	failed                                   bool
	attrs                                    map[string]string
}

type logRecord struct {
	service, body   string
	severity        int32 // the OTLP severity number
	traceID, spanID string
	attrs           map[string]string
}

// startReceiver serves OTLP in protocol and points the simulator's
// exporters at it through the standard variables.
func startReceiver(t *testing.T, protocol string) *receiver {
	t.Helper()
	r := &receiver{}
	switch protocol {
	case "grpc":
		r.endpoint = r.serveGRPC(t)
	case "http/protobuf":
		srv := httptest.NewServer(r.httpHandler(t))
		t.Cleanup(srv.Close)
		r.endpoint = srv.URL
	default:
		t.Fatalf("protocol %q", protocol)
	}
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", r.endpoint)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
	// Spans and logs are batched for 5 s and 1 s by default; a test wants
	// them sooner.
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
	t.Setenv("OTEL_BLRP_SCHEDULE_DELAY", "100")
	for _, v := range []string{"OTEL_METRIC_EXPORT_INTERVAL", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "OTEL_EXPORTER_OTLP_HEADERS"} {
		unsetenv(t, v)
	}
	return r
}

func (r *receiver) httpHandler(t *testing.T) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /v1/metrics", otlpHTTP(t, func() *colmetrics.ExportMetricsServiceRequest { return &colmetrics.ExportMetricsServiceRequest{} },
		&colmetrics.ExportMetricsServiceResponse{}, r.addMetrics))
	mux.Handle("POST /v1/traces", otlpHTTP(t, func() *coltrace.ExportTraceServiceRequest { return &coltrace.ExportTraceServiceRequest{} },
		&coltrace.ExportTraceServiceResponse{}, r.addTraces))
	mux.Handle("POST /v1/logs", otlpHTTP(t, func() *collogs.ExportLogsServiceRequest { return &collogs.ExportLogsServiceRequest{} },
		&collogs.ExportLogsServiceResponse{}, r.addLogs))
	mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		t.Errorf("OTLP request %s %s", req.Method, req.URL.Path)
		http.NotFound(w, req)
	})
	return mux
}

// otlpHTTP decodes one OTLP/HTTP protobuf request, gzipped or not, and
// answers as a receiver does.
func otlpHTTP[Req proto.Message](t *testing.T, newReq func() Req, resp proto.Message, add func(Req)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, hr *http.Request) {
		var body io.Reader = hr.Body
		if hr.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(hr.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		req := newReq()
		raw, err := io.ReadAll(body)
		if err == nil {
			err = proto.Unmarshal(raw, req)
		}
		if err != nil || hr.Header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("OTLP %s: %v, Content-Type %q", hr.URL.Path, err, hr.Header.Get("Content-Type"))
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		add(req)
		out, _ := proto.Marshal(resp)
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	})
}

type grpcMetrics struct {
	colmetrics.UnimplementedMetricsServiceServer
	r *receiver
}

func (g grpcMetrics) Export(_ context.Context, req *colmetrics.ExportMetricsServiceRequest) (*colmetrics.ExportMetricsServiceResponse, error) {
	g.r.addMetrics(req)
	return &colmetrics.ExportMetricsServiceResponse{}, nil
}

type grpcTraces struct {
	coltrace.UnimplementedTraceServiceServer
	r *receiver
}

func (g grpcTraces) Export(_ context.Context, req *coltrace.ExportTraceServiceRequest) (*coltrace.ExportTraceServiceResponse, error) {
	g.r.addTraces(req)
	return &coltrace.ExportTraceServiceResponse{}, nil
}

type grpcLogs struct {
	collogs.UnimplementedLogsServiceServer
	r *receiver
}

func (g grpcLogs) Export(_ context.Context, req *collogs.ExportLogsServiceRequest) (*collogs.ExportLogsServiceResponse, error) {
	g.r.addLogs(req)
	return &collogs.ExportLogsServiceResponse{}, nil
}

// serveGRPC serves the three OTLP services; http:// tells the exporters
// to connect without TLS.
func (r *receiver) serveGRPC(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	colmetrics.RegisterMetricsServiceServer(srv, grpcMetrics{r: r})
	coltrace.RegisterTraceServiceServer(srv, grpcTraces{r: r})
	collogs.RegisterLogsServiceServer(srv, grpcLogs{r: r})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Stop()
		<-done
	})
	return "http://" + ln.Addr().String()
}

func serviceName(res *resourcepb.Resource) string {
	return attrs(res.GetAttributes())["service.name"]
}

func attrs(kvs []*commonpb.KeyValue) map[string]string {
	out := map[string]string{}
	for _, kv := range kvs {
		out[kv.GetKey()] = anyString(kv.GetValue())
	}
	return out
}

func anyString(v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return strconv.FormatInt(x.IntValue, 10)
	case *commonpb.AnyValue_DoubleValue:
		return strconv.FormatFloat(x.DoubleValue, 'g', -1, 64)
	case *commonpb.AnyValue_BoolValue:
		return strconv.FormatBool(x.BoolValue)
	}
	return v.String()
}

func (r *receiver) addMetrics(req *colmetrics.ExportMetricsServiceRequest) {
	var got []sample
	for _, rm := range req.GetResourceMetrics() {
		svc := serviceName(rm.GetResource())
		for _, sm := range rm.GetScopeMetrics() {
			for _, m := range sm.GetMetrics() {
				for _, dp := range m.GetSum().GetDataPoints() {
					v := float64(dp.GetAsInt()) + dp.GetAsDouble()
					got = append(got, sample{service: svc, name: m.GetName(), attrs: attrs(dp.GetAttributes()), timeUnixNano: dp.GetTimeUnixNano(), value: v})
				}
				for _, dp := range m.GetHistogram().GetDataPoints() {
					got = append(got, sample{service: svc, name: m.GetName(), attrs: attrs(dp.GetAttributes()), timeUnixNano: dp.GetTimeUnixNano(),
						value: float64(dp.GetCount()), sum: dp.GetSum()})
				}
			}
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.metricExports++
	r.samples = append(r.samples, got...)
}

func (r *receiver) addTraces(req *coltrace.ExportTraceServiceRequest) {
	var got []span
	for _, rs := range req.GetResourceSpans() {
		svc := serviceName(rs.GetResource())
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				got = append(got, span{service: svc, name: s.GetName(), traceID: hex.EncodeToString(s.GetTraceId()),
					spanID: hex.EncodeToString(s.GetSpanId()), parentID: hex.EncodeToString(s.GetParentSpanId()),
					startUnixNano: s.GetStartTimeUnixNano(), failed: s.GetStatus().GetCode() == 2, attrs: attrs(s.GetAttributes())})
			}
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.spans = append(r.spans, got...)
}

func (r *receiver) addLogs(req *collogs.ExportLogsServiceRequest) {
	var got []logRecord
	for _, rl := range req.GetResourceLogs() {
		svc := serviceName(rl.GetResource())
		for _, sl := range rl.GetScopeLogs() {
			for _, l := range sl.GetLogRecords() {
				got = append(got, logRecord{service: svc, body: anyString(l.GetBody()), severity: int32(l.GetSeverityNumber()),
					traceID: hex.EncodeToString(l.GetTraceId()), spanID: hex.EncodeToString(l.GetSpanId()), attrs: attrs(l.GetAttributes())})
			}
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = append(r.logs, got...)
}

// metrics is the latest sample of every series received so far.
func (r *receiver) metrics() metricView {
	r.mu.Lock()
	defer r.mu.Unlock()
	latest := map[string]sample{}
	for _, s := range r.samples {
		if old, ok := latest[seriesKey(s)]; !ok || s.timeUnixNano >= old.timeUnixNano {
			latest[seriesKey(s)] = s
		}
	}
	return metricView{exports: r.metricExports, latest: latest}
}

func seriesKey(s sample) string {
	keys := make([]string, 0, len(s.attrs))
	for k, v := range s.attrs {
		keys = append(keys, k+"="+v)
	}
	slices.Sort(keys)
	return s.service + "/" + s.name + "{" + strings.Join(keys, ",") + "}"
}

func (r *receiver) allSpans() []span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.spans)
}

func (r *receiver) allLogs() []logRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.logs)
}

// metricView is the metrics received by some moment.
type metricView struct {
	exports int
	latest  map[string]sample
}

// total sums the latest values of service's series of name that carry
// every attribute of want, given as key, value pairs.
func (v metricView) total(service, name string, want ...string) (value, sum float64, found bool) {
	for _, s := range v.latest {
		if s.service != service || s.name != name || !matches(s.attrs, want) {
			continue
		}
		value, sum, found = value+s.value, sum+s.sum, true
	}
	return value, sum, found
}

// count is total's value alone.
func (v metricView) count(service, name string, want ...string) float64 {
	n, _, _ := v.total(service, name, want...)
	return n
}

func matches(attrs map[string]string, want []string) bool {
	for i := 0; i+1 < len(want); i += 2 {
		if attrs[want[i]] != want[i+1] {
			return false
		}
	}
	return true
}
