package inferencemap

import (
	"errors"
	"testing"
	"time"
)

// A record of the simulator's inference log, with a null feature.
const simulatorRecord = `{"prediction_id":"ab","ts":1767571200100,"service":"model-server","model":"fraud","model_version":"v1",` +
	`"latency_ms":12.5,"score":0.25,"features":{"amount":16.5,"merchant_risk":null}}`

func TestMapRecord(t *testing.T) {
	m := Mapping{Service: "service", Model: "model", Version: "model_version", LatencyMS: "latency_ms",
		Prediction: "score", Timestamp: "ts", TimestampUnit: "ms", Features: []string{"features.amount", "features.merchant_risk"}}
	if errs := m.Validate("mapping"); len(errs) > 0 {
		t.Fatal(errs)
	}
	pts, err := m.MapRecord([]byte(simulatorRecord), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{PointLatency: 12.5, PointPrediction: 0.25, "feature.amount": 16.5,
		"feature.merchant_risk.missing": 1, PointFeaturesMissing: 1}
	if len(pts) != len(want) {
		t.Fatalf("got %d points %+v, want %d", len(pts), pts, len(want))
	}
	for _, p := range pts {
		if v, ok := want[p.Name]; !ok || v != p.Value {
			t.Errorf("point %s = %v, want %v (listed: %v)", p.Name, p.Value, v, ok)
		}
		if p.TimeUnixNano != 1767571200100*1e6 || p.Service != "model-server" || p.Model != "fraud" || p.ModelVersion != "v1" {
			t.Errorf("point %s scoped %d %s %s %s", p.Name, p.TimeUnixNano, p.Service, p.Model, p.ModelVersion)
		}
	}
	if _, err := m.MapRecord([]byte(`{"service":"s","ts":1,"latency_ms":"slow"}`), time.Time{}); !errors.Is(err, ErrUnmappable) || ReasonOf(err) != ReasonWrongType {
		t.Errorf("a string latency gave %v, want %s", err, ReasonWrongType)
	}
}
