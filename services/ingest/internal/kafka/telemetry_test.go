package kafka

import "testing"

// A telemetry record is a TelemetryPoints object or a bare Point; anything
// else, or a point out of the schema's bounds, is rejected with its reason.
func TestDecodeTelemetry(t *testing.T) {
	tests := []struct {
		name, record, source, reason string
		points                       int
	}{
		{name: "batch", record: `{"source":"sim","points":[{"name":"a","value":1,"time_unix_nano":5,"service":"s"},{"name":"b","value":2,"time_unix_nano":5,"service":"s","model":"m"}]}`, source: "sim", points: 2},
		{name: "bare point", record: `{"name":"a","value":1.5,"time_unix_nano":5,"service":"s","attributes":{"k":"v"}}`, points: 1},
		{name: "unknown field", record: `{"name":"a","value":1,"time_unix_nano":5,"service":"s","unit":"ms"}`, reason: ReasonWrongType},
		{name: "string value", record: `{"name":"a","value":"1","time_unix_nano":5,"service":"s"}`, reason: ReasonWrongType},
		{name: "empty batch", record: `{"source":"sim","points":[]}`, reason: ReasonMissingField},
		{name: "no name", record: `{"value":1,"time_unix_nano":5,"service":"s"}`, reason: ReasonMissingField},
		{name: "huge value", record: `{"name":"a","value":2e15,"time_unix_nano":5,"service":"s"}`, reason: ReasonOutOfRange},
		{name: "no time", record: `{"name":"a","value":1,"service":"s"}`, reason: ReasonBadTimestamp},
		{name: "after 2100", record: `{"name":"a","value":1,"time_unix_nano":4102444800000000000,"service":"s"}`, reason: ReasonBadTimestamp},
		{name: "not json", record: `nope`, reason: ReasonMalformedJSON},
		{name: "invalid utf-8", record: "{\"name\":\"\xff\"}", reason: ReasonInvalidUTF8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, pts, err := DecodeTelemetry([]byte(tc.record))
			if got := ReasonOf(err); got != tc.reason {
				t.Fatalf("reason %q (%v), want %q", got, err, tc.reason)
			}
			if tc.reason == "" && (len(pts) != tc.points || src != tc.source) {
				t.Fatalf("source %q, %d points, want %q, %d", src, len(pts), tc.source, tc.points)
			}
		})
	}
}
