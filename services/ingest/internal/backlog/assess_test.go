package backlog

import (
	"math"
	"strings"
	"testing"
)

func TestAssess(t *testing.T) {
	limits := Limits{MaxBacklog: 2000, MaxStreamFill: 0.9}
	// A stream of sequences 101..1100 holding 900 bytes of its 1000.
	full := streamView{name: "MEDIC_TELEMETRY", firstSeq: 101, lastSeq: 1100, bytes: 900, maxBytes: 1000}
	tests := []struct {
		name       string
		stream     streamView
		consumers  []consumerView
		wantBehind bool
		wantReason []string
		wantFill   float64
	}{
		{name: "no archiver consumers: nothing would drain, nothing holds back", stream: full},
		{name: "caught up on a full stream: its bytes are archived already", stream: full,
			consumers: []consumerView{{name: "archiver-metrics", pending: 0, done: 1100}}},
		{name: "a backlog within the limit", stream: full,
			consumers: []consumerView{{name: "archiver-metrics", pending: 2000, done: 1000}}, wantFill: 0.09},
		{name: "the most pending consumer names the backlog", stream: full,
			consumers:  []consumerView{{name: "archiver-logs", pending: 2100, done: 1000}, {name: "archiver-metrics", pending: 2400, done: 1050}},
			wantBehind: true, wantReason: []string{"2400 events behind on archiver-metrics", "MAX_BACKLOG 2000"}, wantFill: 0.09},
		{name: "unread messages fill the stream", stream: full,
			consumers:  []consumerView{{name: "archiver-spans", pending: 50, done: 100}},
			wantBehind: true, wantReason: []string{"90%", "MAX_STREAM_FILL 0.9", "MEDIC_TELEMETRY"}, wantFill: 0.9},
		{name: "unread messages already discarded count the whole stream", stream: full,
			consumers: []consumerView{{name: "archiver-spans", pending: 50, done: 10}}, wantBehind: true, wantFill: 0.9},
		{name: "a stream without a byte limit is never too full",
			stream:    streamView{name: "S", firstSeq: 1, lastSeq: 10, bytes: 1 << 40},
			consumers: []consumerView{{name: "archiver-spans", pending: 10}}},
		{name: "an empty stream", stream: streamView{name: "S", maxBytes: 1000},
			consumers: []consumerView{{name: "archiver-spans", pending: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := assess(limits, tt.stream, tt.consumers)
			if v.behind != tt.wantBehind {
				t.Fatalf("behind = %v (%q), want %v", v.behind, v.reason, tt.wantBehind)
			}
			for _, w := range tt.wantReason {
				if !strings.Contains(v.reason, w) {
					t.Errorf("reason %q lacks %q", v.reason, w)
				}
			}
			if math.Abs(v.fill-tt.wantFill) > 1e-9 {
				t.Errorf("fill = %v, want %v", v.fill, tt.wantFill)
			}
		})
	}
}
