package frontdoor

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// collectorTestdata holds the bodies a Collector's otlphttp exporter sends
// with `encoding: json`, shared with the ingest service's unit tests.
const collectorTestdata = "../../../ingest/internal/otlp/testdata"

// testCollectorJSON posts those bodies as the exporter does (Content-Type
// application/json, gzip) and finds their rows.
func testCollectorJSON(t *testing.T, d *door) {
	mres := pmetricotlp.NewExportResponse()
	postCollector(t, d, "/v1/metrics", "collector_metrics.json", mres.UnmarshalJSON)
	if n := mres.PartialSuccess().RejectedDataPoints(); n != 0 {
		t.Fatalf("metrics: %d data points rejected: %s", n, mres.PartialSuccess().ErrorMessage())
	}
	tres := ptraceotlp.NewExportResponse()
	postCollector(t, d, "/v1/traces", "collector_traces.json", tres.UnmarshalJSON)
	if n := tres.PartialSuccess().RejectedSpans(); n != 0 {
		t.Fatalf("traces: %d spans rejected: %s", n, tres.PartialSuccess().ErrorMessage())
	}
	lres := plogotlp.NewExportResponse()
	postCollector(t, d, "/v1/logs", "collector_logs.json", lres.UnmarshalJSON)
	if n := lres.PartialSuccess().RejectedLogRecords(); n != 0 {
		t.Fatalf("logs: %d records rejected: %s", n, lres.PartialSuccess().ErrorMessage())
	}

	resource := map[string]string{"service.namespace": "serving", "k8s.namespace.name": "ml", "k8s.node.name": "node-a"}
	want := []wantPoint{
		{name: "queue_depth", attrs: with(resource, "queue", "inference"), value: 7},
		{name: "http_requests", attrs: resource, value: 100}, {name: "http_requests", attrs: resource, value: 150},
		{name: "http_requests_rate", attrs: resource, value: 5},
		{name: "errors", value: 5}, {name: "errors_rate", value: 0.5},
		{name: "latency_seconds_bucket", attrs: map[string]string{"le": "0.1"}, value: 2},
		{name: "latency_seconds_bucket", attrs: map[string]string{"le": "0.5"}, value: 7},
		{name: "latency_seconds_bucket", attrs: map[string]string{"le": "+Inf"}, value: 10},
		{name: "latency_seconds_count", value: 10}, {name: "latency_seconds_sum", value: 2.5},
	}
	eventually(t, rowsTimeout, func() string {
		rows := d.metrics(t, "gateway")
		if m := missingPoints(rows, want); m != "" {
			return m
		}
		for _, r := range rows {
			version := "" // only http_requests' points name a version
			if strings.HasPrefix(r.Name, "http_requests") {
				version = "v1"
			}
			if r.Model != "fraud" || r.ModelVersion != version {
				return fmt.Sprintf("row %s: model columns %q %q, want fraud %q", r, r.Model, r.ModelVersion, version)
			}
			if _, ok := r.Attrs["process.pid"]; ok {
				return fmt.Sprintf("row %s kept the resource's process.pid", r)
			}
		}
		return ""
	})
	eventually(t, rowsTimeout, func() string {
		rows := d.spans(t, "feature-service")
		if len(rows) != 1 {
			return fmt.Sprintf("%d span rows of feature-service, want 1: %+v", len(rows), rows)
		}
		s := rows[0]
		if s.TraceID != "5b8efff798038103d269b633813fc60c" || s.SpanID != "eee19b7ec3c1b174" || s.ParentSpanID != "eee19b7ec3c1b173" ||
			s.Name != "GET /features" || s.Kind != "client" || s.StatusCode != 2 || s.StatusMessage != "upstream unavailable" ||
			s.Model != "fraud" || s.ModelVersion != "v2" || s.Attrs["http.response.status_code"] != "503" || s.Attrs["k8s.pod.name"] != "feature-service-1" {
			return fmt.Sprintf("span row %+v does not match collector_traces.json", s)
		}
		return ""
	})
	eventually(t, rowsTimeout, func() string {
		rows := d.logs(t, "model-server")
		if len(rows) != 2 {
			return fmt.Sprintf("%d log rows of model-server, want 2: %+v", len(rows), rows)
		}
		warn, oom := rows[0], rows[1]
		if warn.Severity != "WARN" || warn.Body != "prediction latency above budget" || warn.TraceID != "5b8efff798038103d269b633813fc60c" ||
			warn.SpanID != "eee19b7ec3c1b174" || warn.ModelVersion != "v2" || warn.TimeUnixNano != 1700000000000000000 {
			return fmt.Sprintf("first log row %+v does not match collector_logs.json", warn)
		}
		if oom.Severity != "ERROR" || oom.Body != `{"msg":"oom"}` || oom.TimeUnixNano != 1700000001000000000 {
			return fmt.Sprintf("second log row %+v: want ERROR, body {\"msg\":\"oom\"}, the observed time", oom)
		}
		return ""
	})
}

// postCollector posts a testdata file gzipped, as the Collector's otlphttp
// exporter with encoding json does, and decodes the answer with decode.
func postCollector(t *testing.T, d *door, path, file string, decode func([]byte) error) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(collectorTestdata, file))
	if err != nil {
		t.Fatal(err)
	}
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	_, _ = zw.Write(raw) // a bytes.Buffer does not fail
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, "http://"+d.stack.OTLPHTTPAddr+path, &zb)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("User-Agent", "OpenTelemetry Collector Contrib/0.140.0 (linux/amd64)")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("POST %s %s: %s (Content-Type %q): %s", path, file, resp.Status, resp.Header.Get("Content-Type"), body)
	}
	if err := decode(body); err != nil {
		t.Fatalf("POST %s: answer %s: %v", path, body, err)
	}
}

// with is attrs plus k=v.
func with(attrs map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for ak, av := range attrs {
		out[ak] = av
	}
	return out
}
