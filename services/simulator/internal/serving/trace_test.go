package serving

import (
	"context"
	"testing"
	"time"

	"github.com/medic-sre/medic/services/simulator/internal/fault"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/log"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func serviceOf(s sdktrace.ReadOnlySpan) string {
	for _, kv := range s.Resource().Attributes() {
		if kv.Key == "service.name" {
			return kv.Value.AsString()
		}
	}
	return ""
}

func attr(s sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.String()
		}
	}
	return ""
}

// A request is one trace: gateway -> feature-service and gateway ->
// model-server, with the model on every span, and a failed prediction sets
// error statuses and logs a warning in the span's trace.
func TestRequestIsOneTrace(t *testing.T) {
	r := newRig(t, fault.BadModelVersion)
	var res Result
	for i := 0; i < 50 && !res.Failed(); i++ {
		res = r.pipe.Serve(context.Background(), time.Now())
		if !res.Failed() {
			r.spans.Reset()
		}
	}
	if !res.Failed() {
		t.Fatal("no failure in 50 requests of v2")
	}
	spans := r.spans.Ended()
	if len(spans) != 3 {
		t.Fatalf("%d spans, want 3", len(spans))
	}
	byService := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		byService[serviceOf(s)] = s
	}
	gw, fs, ms := byService[Gateway], byService[FeatureService], byService[ModelServer]
	tests := []struct {
		name       string
		span       sdktrace.ReadOnlySpan
		wantName   string
		wantParent sdktrace.ReadOnlySpan
		wantStatus codes.Code
	}{
		{name: "gateway", span: gw, wantName: "POST /predict", wantStatus: codes.Error},
		{name: "feature-service", span: fs, wantName: "GET /features", wantParent: gw, wantStatus: codes.Unset},
		{name: "model-server", span: ms, wantName: "predict", wantParent: gw, wantStatus: codes.Error},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.span == nil {
				t.Fatalf("no span of %s", tc.name)
			}
			if tc.span.Name() != tc.wantName || tc.span.Status().Code != tc.wantStatus {
				t.Errorf("span %q status %v, want %q %v", tc.span.Name(), tc.span.Status().Code, tc.wantName, tc.wantStatus)
			}
			if tc.span.SpanContext().TraceID() != gw.SpanContext().TraceID() {
				t.Error("not in the gateway's trace")
			}
			if tc.wantParent != nil && tc.span.Parent().SpanID() != tc.wantParent.SpanContext().SpanID() {
				t.Error("wrong parent")
			}
			if attr(tc.span, AttrModel) != "fraud" || attr(tc.span, AttrModelVersion) != "v2" {
				t.Errorf("model attributes %v", tc.span.Attributes())
			}
		})
	}
	if got := gw.EndTime().Sub(gw.StartTime()); got != ms.EndTime().Sub(gw.StartTime())+time.Duration(hopMs*float64(time.Millisecond)) {
		t.Errorf("gateway span lasts %v, not until the model-server answered", got)
	}
	// The warning is a log record of the model-server, in the failed
	// span's trace, with the model's attributes; the otelslog bridge turns
	// the error into the semantic conventions' exception.message.
	logs := r.logs.all()
	if len(logs) != 1 {
		t.Fatalf("%d log records, want the one warning", len(logs))
	}
	rec := logs[0]
	attrs := logAttrs(rec)
	if rec.Severity() != log.SeverityWarn || rec.Body().Emit() != "prediction failed" ||
		attrs[AttrModel] != "fraud" || attrs[AttrModelVersion] != "v2" || attrs["exception.message"] != res.Prediction.Err.Error() {
		t.Errorf("log record %v %q %v", rec.Severity(), rec.Body().Emit(), attrs)
	}
	if rec.TraceID() != ms.SpanContext().TraceID() || rec.SpanID() != ms.SpanContext().SpanID() {
		t.Errorf("log record in trace %s span %s, want the model-server's span %s", rec.TraceID(), rec.SpanID(), ms.SpanContext().SpanID())
	}
	if svc, _ := rec.Resource().Set().Value("service.name"); svc.Emit() != ModelServer {
		t.Errorf("log record of %q, want %s", svc.Emit(), ModelServer)
	}
}
