package otlp

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// switchBacklog is behind while on is set.
type switchBacklog struct{ on atomic.Bool }

const behindReason = "the archiver is 2400 events behind on archiver-metrics (MAX_BACKLOG 2000)"

func (s *switchBacklog) Behind() (bool, string, time.Duration) {
	return s.on.Load(), behindReason, 7 * time.Second
}

// While the backlog is behind, every export is refused whole: 429 with the
// backlog's Retry-After over HTTP, RESOURCE_EXHAUSTED with its RetryInfo
// over gRPC, each naming the limit and counted by reason backpressure,
// and nothing is published. Once it catches up, exports go through again.
func TestBackpressure(t *testing.T) {
	h := newHarness(t, Config{RetryAfter: time.Second})
	bl := &switchBacklog{}
	bl.on.Store(true)
	h.recv.PushBackWhen(bl)

	resp := post(t, h.http.URL+PathMetrics, "application/json", "", readFile(t, "collector_metrics.json"))
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "7" {
		t.Fatalf("HTTP: %d Retry-After %q, want 429 and 7", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if want := behindReason + "; retry later"; !strings.Contains(string(body), want) {
		t.Errorf("HTTP body %s does not say %q", body, want)
	}

	req := plogotlp.NewExportRequest()
	if err := req.UnmarshalJSON(readFile(t, "collector_logs.json")); err != nil {
		t.Fatal(err)
	}
	_, err := plogotlp.NewGRPCClient(dial(t, h)).Export(context.Background(), req)
	st := status.Convert(err)
	if st.Code() != codes.ResourceExhausted || !strings.Contains(st.Message(), behindReason) {
		t.Fatalf("gRPC: %v %q, want RESOURCE_EXHAUSTED naming the limit", st.Code(), st.Message())
	}
	var delay time.Duration
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			delay = ri.GetRetryDelay().AsDuration()
		}
	}
	if delay != 7*time.Second {
		t.Errorf("gRPC RetryInfo delay %s, want the backlog's 7s", delay)
	}

	if got := h.rejectedCount(t, SignalMetrics, ReasonBackpressure); got != 1 {
		t.Errorf("rejected{metrics,backpressure} = %v, want 1", got)
	}
	if got := h.rejectedCount(t, SignalLogs, ReasonBackpressure); got != 1 {
		t.Errorf("rejected{logs,backpressure} = %v, want 1", got)
	}
	if pts, logs := h.points(t), h.logs(t); len(pts)+len(logs) != 0 {
		t.Fatalf("published %d points and %d log records while pushing back", len(pts), len(logs))
	}

	bl.on.Store(false)
	metricsResponse(t, post(t, h.http.URL+PathMetrics, "application/json", "", readFile(t, "collector_metrics.json")))
	if len(h.points(t)) == 0 {
		t.Fatal("no points published after the backlog caught up")
	}
}
