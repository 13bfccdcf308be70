package serving

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/telemetry"
	"github.com/medic-sre/medic/services/simulator/internal/fault"
	"go.opentelemetry.io/otel/codes"
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
			if attr(tc.span, telemetry.AttrModel) != "fraud" || attr(tc.span, telemetry.AttrModelVersion) != "v2" {
				t.Errorf("model attributes %v", tc.span.Attributes())
			}
		})
	}
	if got := gw.EndTime().Sub(gw.StartTime()); got != ms.EndTime().Sub(gw.StartTime())+time.Duration(hopMs*float64(time.Millisecond)) {
		t.Errorf("gateway span lasts %v, not until the model-server answered", got)
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(strings.SplitN(r.logs.String(), "\n", 2)[0]), &line); err != nil {
		t.Fatalf("log %q: %v", r.logs.String(), err)
	}
	if line["level"] != "WARN" || line["model_version"] != "v2" || line["model"] != "fraud" || line["err"] != res.Prediction.Err.Error() {
		t.Errorf("log line %v", line)
	}
}

// Every tier leaves its points, at the request's time and version; a scored
// request's label arrives LabelDelay later.
func TestPointsOfARequest(t *testing.T) {
	at := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name   string
		faults []string
		want   func(Result) bool // which request to look at
		points func(Result) map[string]float64
		label  bool
	}{
		{name: "null merchant_risk fails", faults: []string{fault.FeatureNulls},
			want: func(r Result) bool { return r.Features.MerchantRisk == nil },
			points: func(r Result) map[string]float64 {
				return map[string]float64{"gateway/request.error": 1, "feature-service/feature.missing_ratio": 1.0 / 3,
					"model-server/prediction.error": 1}
			}},
		{name: "scored request", want: func(r Result) bool { return !r.Failed() }, label: true,
			points: func(r Result) map[string]float64 {
				return map[string]float64{"gateway/request.error": 0, "feature-service/feature.missing_ratio": 0,
					"feature-service/feature.merchant_risk": *r.Features.MerchantRisk,
					"model-server/prediction.error":         0, "model-server/prediction.score": r.Prediction.Score}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, tc.faults...)
			var res Result
			for i := 0; i < 50 && (i == 0 || !tc.want(res)); i++ {
				r.pipe.Points.Take(at.Add(time.Hour)) // forget earlier requests and their labels
				res = r.pipe.Serve(context.Background(), at)
			}
			if !tc.want(res) {
				t.Fatal("no such request in 50")
			}
			want := tc.points(res)
			want["gateway/request.latency_ms"] = res.LatencyMs
			want["feature-service/feature.latency_ms"] = res.FeatureMs
			want["feature-service/feature.amount"] = res.Features.Amount
			want["feature-service/feature.account_age_days"] = res.Features.AccountAgeDays
			want["model-server/prediction.latency_ms"] = res.Prediction.LatencyMs
			got := map[string]float64{}
			for _, p := range r.pipe.Points.Take(at.Add(time.Second)) {
				if p.TimeUnixNano != at.UnixNano() || p.ModelVersion != "v1" || p.Model != "fraud" {
					t.Errorf("point %+v", p)
				}
				got[p.Service+"/"+p.Name] = p.Value
			}
			if len(got) != len(want) {
				t.Fatalf("points %v, want %v", got, want)
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s = %v, want %v", k, got[k], v)
				}
			}
			labels := r.pipe.Points.Take(at.Add(r.pipe.LabelDelay))
			if tc.label != (len(labels) == 1) {
				t.Fatalf("labels %+v, want label: %v", labels, tc.label)
			}
			if tc.label && (labels[0].Name != "label.correct" || labels[0].Service != ModelServer ||
				labels[0].TimeUnixNano != at.Add(r.pipe.LabelDelay).UnixNano()) {
				t.Errorf("label %+v", labels[0])
			}
		})
	}
}
