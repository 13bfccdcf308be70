package otlp

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Content types of OTLP/HTTP.
const (
	contentProtobuf = "application/x-protobuf"
	contentJSON     = "application/json"
)

// Paths of OTLP/HTTP.
const (
	PathMetrics = "/v1/metrics"
	PathTraces  = "/v1/traces"
	PathLogs    = "/v1/logs"
)

// message is an OTLP request or response that pdata encodes.
type message interface {
	UnmarshalProto([]byte) error
	UnmarshalJSON([]byte) error
}

type encoded interface {
	MarshalProto() ([]byte, error)
	MarshalJSON() ([]byte, error)
}

// httpError is a failed request's status and text.
type httpError struct {
	status int
	code   codes.Code
	reason string
	msg    string
}

// Handler serves OTLP/HTTP on /v1/metrics, /v1/traces and /v1/logs.
func (r *Receiver) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+PathMetrics, func(w http.ResponseWriter, req *http.Request) {
		in := pmetricotlp.NewExportRequest()
		r.serve(w, req, SignalMetrics, in, func() (encoded, error) {
			res, err := r.ConsumeMetrics(req.Context(), in.Metrics())
			out := pmetricotlp.NewExportResponse()
			if res.Rejected > 0 {
				out.PartialSuccess().SetRejectedDataPoints(int64(res.Rejected))
				out.PartialSuccess().SetErrorMessage(res.Message)
			}
			return out, err
		})
	})
	mux.HandleFunc("POST "+PathTraces, func(w http.ResponseWriter, req *http.Request) {
		in := ptraceotlp.NewExportRequest()
		r.serve(w, req, SignalTraces, in, func() (encoded, error) {
			res, err := r.ConsumeTraces(req.Context(), in.Traces())
			out := ptraceotlp.NewExportResponse()
			if res.Rejected > 0 {
				out.PartialSuccess().SetRejectedSpans(int64(res.Rejected))
				out.PartialSuccess().SetErrorMessage(res.Message)
			}
			return out, err
		})
	})
	mux.HandleFunc("POST "+PathLogs, func(w http.ResponseWriter, req *http.Request) {
		in := plogotlp.NewExportRequest()
		r.serve(w, req, SignalLogs, in, func() (encoded, error) {
			res, err := r.ConsumeLogs(req.Context(), in.Logs())
			out := plogotlp.NewExportResponse()
			if res.Rejected > 0 {
				out.PartialSuccess().SetRejectedLogRecords(int64(res.Rejected))
				out.PartialSuccess().SetErrorMessage(res.Message)
			}
			return out, err
		})
	})
	return mux
}

// serve decodes the body into in, runs export and writes its answer in
// the request's encoding.
func (r *Receiver) serve(w http.ResponseWriter, req *http.Request, signal string, in message, export func() (encoded, error)) {
	ct, herr := contentType(req)
	if herr == nil {
		herr = r.decode(w, req, ct, in)
	}
	if herr != nil {
		r.m.rejected.WithLabelValues(signal, herr.reason).Inc()
		r.m.requests.WithLabelValues("http", signal, herr.reason).Inc()
		r.writeError(w, ct, herr)
		return
	}
	out, err := export()
	if err != nil {
		herr = r.retryable(err)
		w.Header().Set("Retry-After", seconds(RetryDelay(err, r.cfg.RetryAfter)))
		r.m.requests.WithLabelValues("http", signal, herr.reason).Inc()
		r.writeError(w, ct, herr)
		return
	}
	r.m.requests.WithLabelValues("http", signal, "ok").Inc()
	var body []byte
	if ct == contentJSON {
		body, err = out.MarshalJSON()
	} else {
		body, err = out.MarshalProto()
	}
	if err != nil {
		r.writeError(w, ct, &httpError{http.StatusInternalServerError, codes.Internal, "internal", err.Error()})
		return
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// contentType reads the request's media type: protobuf or JSON.
func contentType(req *http.Request) (string, *httpError) {
	mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if err == nil && (mt == contentProtobuf || mt == contentJSON) {
		return mt, nil
	}
	return contentJSON, &httpError{http.StatusUnsupportedMediaType, codes.InvalidArgument, "unsupported_media_type",
		fmt.Sprintf("content type %q is not supported; send %s or %s", req.Header.Get("Content-Type"), contentProtobuf, contentJSON)}
}

// decode reads the body, gunzipping it when it says so, within
// MaxBodyBytes before and after, and unmarshals it into in.
func (r *Receiver) decode(w http.ResponseWriter, req *http.Request, ct string, in message) *httpError {
	limit := r.cfg.MaxBodyBytes
	var body io.Reader = http.MaxBytesReader(w, req.Body, limit)
	switch enc := req.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			return bodyError(err, limit)
		}
		defer func() { _ = zr.Close() }()
		body = zr
	default:
		return &httpError{http.StatusUnsupportedMediaType, codes.InvalidArgument, "unsupported_media_type",
			fmt.Sprintf("content encoding %q is not supported; send gzip or none", enc)}
	}
	raw, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return bodyError(err, limit)
	}
	if int64(len(raw)) > limit {
		return bodyError(&http.MaxBytesError{Limit: limit}, limit)
	}
	if ct == contentJSON {
		err = in.UnmarshalJSON(raw)
	} else {
		err = in.UnmarshalProto(raw)
	}
	if err != nil {
		return &httpError{http.StatusBadRequest, codes.InvalidArgument, "malformed", "cannot decode the OTLP request: " + err.Error()}
	}
	return nil
}

// bodyError classifies a failure to read the body.
func bodyError(err error, limit int64) *httpError {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return &httpError{http.StatusRequestEntityTooLarge, codes.InvalidArgument, "too_large",
			fmt.Sprintf("request body is larger than %d bytes (MaxBodyBytes), before or after gzip", limit)}
	}
	return &httpError{http.StatusBadRequest, codes.InvalidArgument, "malformed", "cannot read the request body: " + err.Error()}
}

// retryable answers an export that failed as a whole: 429 when the
// receiver is full, 503 when publishing failed.
func (r *Receiver) retryable(err error) *httpError {
	if errors.Is(err, ErrBehind) {
		return &httpError{http.StatusTooManyRequests, codes.ResourceExhausted, ReasonBackpressure, err.Error() + "; retry later"}
	}
	if errors.Is(err, ErrOverloaded) {
		return &httpError{http.StatusTooManyRequests, codes.ResourceExhausted, "overloaded", err.Error() + "; retry later"}
	}
	return &httpError{http.StatusServiceUnavailable, codes.Unavailable, "unavailable", err.Error() + "; retry later"}
}

// writeError writes a google.rpc.Status body, as OTLP/HTTP asks, with
// Retry-After on the statuses a client retries.
func (r *Receiver) writeError(w http.ResponseWriter, ct string, e *httpError) {
	st := status.New(e.code, e.msg).Proto()
	var body []byte
	if ct == contentProtobuf {
		body, _ = proto.Marshal(st)
	} else {
		body, _ = protojson.Marshal(st)
	}
	retry := e.status == http.StatusTooManyRequests || e.status == http.StatusServiceUnavailable
	if retry && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", seconds(r.cfg.RetryAfter))
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(e.status)
	_, _ = w.Write(body)
}

// seconds is d in whole seconds for Retry-After, rounded up and at least 1
// so that a client never retries at once.
func seconds(d time.Duration) string {
	return strconv.Itoa(max(1, int((d+time.Second-1)/time.Second)))
}
