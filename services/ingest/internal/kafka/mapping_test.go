package kafka

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
)

func testMapping(t testing.TB) *Mapping {
	t.Helper()
	cfg, err := LoadConfig("testdata/topics.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Topics[1].Mapping
}

// Each way a record can be wrong is rejected with its reason.
func TestMapRecordReasons(t *testing.T) {
	m := testMapping(t)
	at := time.Unix(1700000000, 0)
	tests := []struct {
		name, record, reason string
		points               int
	}{
		{name: "full", record: `{"ts":1700000000000,"service":"s","latency_ms":3,"output":{"score":true},"label":"1","features":{"amount":1,"merchant_risk":2}}`, points: 6},
		{name: "only latency, record time", record: `{"latency_ms":3}`, points: 4},
		{name: "rfc3339 time", record: `{"ts":"2026-11-30T10:00:00Z","latency_ms":3}`, points: 4},
		{name: "not json", record: `{"latency_ms":`, reason: ReasonMalformedJSON},
		{name: "array", record: `[1]`, reason: ReasonMalformedJSON},
		{name: "two objects", record: `{}{}`, reason: ReasonMalformedJSON},
		{name: "invalid utf-8", record: "{\"model\":{\"name\":\"\xc3\x28\"}}", reason: ReasonInvalidUTF8},
		{name: "string latency", record: `{"latency_ms":"slow"}`, reason: ReasonWrongType},
		{name: "object feature", record: `{"features":{"amount":{}}}`, reason: ReasonWrongType},
		{name: "NaN", record: `{"latency_ms":"NaN"}`, reason: ReasonNonFinite},
		{name: "Inf", record: `{"output":{"score":"-Inf"}}`, reason: ReasonNonFinite},
		{name: "huge", record: `{"latency_ms":1e300}`, reason: ReasonOutOfRange},
		{name: "overflow", record: `{"latency_ms":1e999}`, reason: ReasonOutOfRange},
		{name: "time after 2100", record: `{"ts":5000000000000,"latency_ms":1}`, reason: ReasonBadTimestamp},
		{name: "negative time", record: `{"ts":-1,"latency_ms":1}`, reason: ReasonBadTimestamp},
		{name: "numeric model name", record: `{"model":{"name":7},"latency_ms":1}`, points: 4},
		{name: "object service", record: `{"service":{},"latency_ms":1}`, reason: ReasonWrongType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pts, err := m.MapRecord([]byte(tc.record), at)
			if got := ReasonOf(err); got != tc.reason {
				t.Fatalf("reason %q (%v), want %q", got, err, tc.reason)
			}
			if len(pts) != tc.points {
				t.Fatalf("%d points %+v, want %d", len(pts), pts, tc.points)
			}
		})
	}
}

// FuzzMapRecord feeds the inference mapping arbitrary records: it never
// panics, a rejection always has a reason, and whatever it accepts is a
// valid telemetry points event.
func FuzzMapRecord(f *testing.F) {
	m := testMapping(f)
	f.Add([]byte(`{"ts":1700000000000,"latency_ms":3,"output":{"score":0.5},"features":{"amount":1}}`), int64(1700000000000000000))
	f.Fuzz(func(t *testing.T, raw []byte, at int64) {
		pts, err := m.MapRecord(raw, time.Unix(0, at))
		if err != nil {
			if ReasonOf(err) == "" {
				t.Fatalf("error without a reason: %v", err)
			}
			return
		}
		data, err := json.Marshal(events.TelemetryPoints{Source: "fuzz", Points: pts})
		if err != nil {
			t.Fatal(err)
		}
		if len(pts) > 0 {
			if err := events.ValidateData(events.TypeTelemetryPoints, data); err != nil {
				t.Fatalf("accepted %q into an invalid event: %v", raw, err)
			}
		}
	})
}
