package otlp

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	// The gzip codec: the Collector's otlp exporter compresses with it by
	// default, and a server without it refuses such requests.
	_ "google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// RegisterGRPC registers the OTLP metrics, trace and logs services on s.
// The caller configures s (its listener, grpc.MaxRecvMsgSize, whose
// default of 4 MiB the Collector's exporters stay under).
func (r *Receiver) RegisterGRPC(s *grpc.Server) {
	pmetricotlp.RegisterGRPCServer(s, &metricsServer{r: r})
	ptraceotlp.RegisterGRPCServer(s, &tracesServer{r: r})
	plogotlp.RegisterGRPCServer(s, &logsServer{r: r})
}

type metricsServer struct {
	pmetricotlp.UnimplementedGRPCServer
	r *Receiver
}

// Export handles one OTLP metrics export.
func (s *metricsServer) Export(ctx context.Context, req pmetricotlp.ExportRequest) (pmetricotlp.ExportResponse, error) {
	res, err := s.r.ConsumeMetrics(ctx, req.Metrics())
	out := pmetricotlp.NewExportResponse()
	if err != nil {
		return out, s.r.grpcError(SignalMetrics, err)
	}
	if res.Rejected > 0 {
		out.PartialSuccess().SetRejectedDataPoints(int64(res.Rejected))
		out.PartialSuccess().SetErrorMessage(res.Message)
	}
	s.r.m.requests.WithLabelValues("grpc", SignalMetrics, "ok").Inc()
	return out, nil
}

type tracesServer struct {
	ptraceotlp.UnimplementedGRPCServer
	r *Receiver
}

// Export handles one OTLP trace export.
func (s *tracesServer) Export(ctx context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	res, err := s.r.ConsumeTraces(ctx, req.Traces())
	out := ptraceotlp.NewExportResponse()
	if err != nil {
		return out, s.r.grpcError(SignalTraces, err)
	}
	if res.Rejected > 0 {
		out.PartialSuccess().SetRejectedSpans(int64(res.Rejected))
		out.PartialSuccess().SetErrorMessage(res.Message)
	}
	s.r.m.requests.WithLabelValues("grpc", SignalTraces, "ok").Inc()
	return out, nil
}

type logsServer struct {
	plogotlp.UnimplementedGRPCServer
	r *Receiver
}

// Export handles one OTLP logs export.
func (s *logsServer) Export(ctx context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	res, err := s.r.ConsumeLogs(ctx, req.Logs())
	out := plogotlp.NewExportResponse()
	if err != nil {
		return out, s.r.grpcError(SignalLogs, err)
	}
	if res.Rejected > 0 {
		out.PartialSuccess().SetRejectedLogRecords(int64(res.Rejected))
		out.PartialSuccess().SetErrorMessage(res.Message)
	}
	s.r.m.requests.WithLabelValues("grpc", SignalLogs, "ok").Inc()
	return out, nil
}

// grpcError turns a failed export into a status the SDKs retry:
// RESOURCE_EXHAUSTED (with RetryInfo, without which the SDKs would not
// retry it) when the receiver is full, UNAVAILABLE otherwise.
func (r *Receiver) grpcError(signal string, err error) error {
	code, outcome := codes.Unavailable, "unavailable"
	switch {
	case errors.Is(err, ErrOverloaded):
		code, outcome = codes.ResourceExhausted, "overloaded"
	case errors.Is(err, ErrBehind):
		code, outcome = codes.ResourceExhausted, ReasonBackpressure
	case errors.Is(err, context.Canceled):
		code, outcome = codes.Canceled, "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		code, outcome = codes.DeadlineExceeded, "canceled"
	}
	r.m.requests.WithLabelValues("grpc", signal, outcome).Inc()
	st := status.New(code, err.Error()+"; retry later")
	if code == codes.ResourceExhausted || code == codes.Unavailable {
		if d, derr := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(RetryDelay(err, r.cfg.RetryAfter))}); derr == nil {
			st = d
		}
	}
	return st.Err()
}
