package stats

import (
	"testing"
	"time"
)

func TestSummary(t *testing.T) {
	t0 := time.Unix(1000, 0)
	w := NewWindow(time.Minute)
	// 100 requests, one every 100ms over 10s; latency i ms; every 10th fails
	// and the last 20 all fail.
	for i := range 100 {
		w.Record(t0.Add(time.Duration(i)*100*time.Millisecond), float64(i+1), i%10 == 0 || i >= 80)
	}
	end := t0.Add(9900 * time.Millisecond)
	tests := []struct {
		name   string
		now    time.Time
		window time.Duration
		want   Summary
	}{
		{name: "whole window", now: end, window: 10 * time.Second,
			want: Summary{WindowSeconds: 10, Requests: 100, ErrorRate: 0.28, P95LatencyMs: 95}},
		{name: "last 2s", now: end, window: 2 * time.Second,
			want: Summary{WindowSeconds: 2, Requests: 20, ErrorRate: 1, P95LatencyMs: 99}},
		{name: "first second only", now: t0.Add(900 * time.Millisecond), window: 2 * time.Second,
			want: Summary{WindowSeconds: 2, Requests: 10, ErrorRate: 0.1, P95LatencyMs: 10}},
		{name: "empty window", now: end.Add(time.Hour), window: time.Second,
			want: Summary{WindowSeconds: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := w.Summary(tc.now, tc.window); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestPrunesOldRecords(t *testing.T) {
	w := NewWindow(time.Second)
	t0 := time.Unix(0, 0)
	for i := range 5000 {
		w.Record(t0.Add(time.Duration(i)*time.Millisecond), 1, false)
	}
	if n := len(w.recs); n > 2100 {
		t.Fatalf("%d records kept for a 1s window of 1ms requests", n)
	}
	if got := w.Summary(t0.Add(4999*time.Millisecond), time.Second).Requests; got != 1000 {
		t.Fatalf("requests in the last second: %d, want 1000", got)
	}
}
