package otlp

import (
	"context"
	"errors"
	"testing"

	"github.com/medic-sre/medic/pkg/servicetest"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// dial connects a gRPC client to the harness.
func dial(t *testing.T, h *harness) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(h.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// Over gRPC, bad points are a partial success, as over HTTP.
func TestGRPCPartialSuccess(t *testing.T) {
	h := newHarness(t, Config{})
	req := pmetricotlp.NewExportRequest()
	if err := req.UnmarshalProto(badMetrics(t)); err != nil {
		t.Fatal(err)
	}
	res, err := pmetricotlp.NewGRPCClient(dial(t, h)).Export(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if n := res.PartialSuccess().RejectedDataPoints(); n != 4 {
		t.Fatalf("rejected %d, want 4: %s", n, res.PartialSuccess().ErrorMessage())
	}
	if pts := h.points(t); len(pts) != 1 {
		t.Fatalf("published %d points, want 1", len(pts))
	}
}

// retryDelay returns the RetryInfo of a status, which the SDKs need to
// retry RESOURCE_EXHAUSTED.
func retryDelay(st *status.Status) bool {
	for _, d := range st.Details() {
		if _, ok := d.(*errdetails.RetryInfo); ok {
			return true
		}
	}
	return false
}

// A failing publisher answers UNAVAILABLE with RetryInfo on every signal.
func TestGRPCUnavailable(t *testing.T) {
	b := servicetest.Bus(t)
	h := newHarnessWith(t, Config{}, b, failingPublisher{errors.New("nats: no responders")})
	cc := dial(t, h)
	ctx := context.Background()
	traces := ptraceotlp.NewExportRequest()
	if err := traces.UnmarshalJSON(readFile(t, "collector_traces.json")); err != nil {
		t.Fatal(err)
	}
	logs := plogotlp.NewExportRequest()
	if err := logs.UnmarshalJSON(readFile(t, "collector_logs.json")); err != nil {
		t.Fatal(err)
	}
	metrics := pmetricotlp.NewExportRequest()
	if err := metrics.UnmarshalJSON(readFile(t, "collector_metrics.json")); err != nil {
		t.Fatal(err)
	}
	calls := map[string]func() error{
		"metrics": func() error { _, err := pmetricotlp.NewGRPCClient(cc).Export(ctx, metrics); return err },
		"traces":  func() error { _, err := ptraceotlp.NewGRPCClient(cc).Export(ctx, traces); return err },
		"logs":    func() error { _, err := plogotlp.NewGRPCClient(cc).Export(ctx, logs); return err },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			st := status.Convert(call())
			if st.Code() != codes.Unavailable || !retryDelay(st) {
				t.Fatalf("status %v %q details %v, want UNAVAILABLE with RetryInfo", st.Code(), st.Message(), st.Details())
			}
		})
	}
}

// With MaxInFlight exports in flight, the next is RESOURCE_EXHAUSTED with
// RetryInfo.
func TestGRPCOverloaded(t *testing.T) {
	b := servicetest.Bus(t)
	pub := &blockingPublisher{entered: make(chan struct{}), release: make(chan struct{})}
	h := newHarnessWith(t, Config{MaxInFlight: 1}, b, pub)
	client := ptraceotlp.NewGRPCClient(dial(t, h))
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalJSON(readFile(t, "collector_traces.json")); err != nil {
		t.Fatal(err)
	}
	first := make(chan error)
	go func() {
		_, err := client.Export(context.Background(), req)
		first <- err
	}()
	<-pub.entered
	_, err := client.Export(context.Background(), req)
	if st := status.Convert(err); st.Code() != codes.ResourceExhausted || !retryDelay(st) {
		t.Fatalf("second export: %v, want RESOURCE_EXHAUSTED with RetryInfo", err)
	}
	close(pub.release)
	if err := <-first; err != nil {
		t.Fatalf("first export: %v", err)
	}
}
