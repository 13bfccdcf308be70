package engine

import (
	"testing"

	"github.com/medic-sre/medic/services/rca/internal/analysis"
	"github.com/medic-sre/medic/services/rca/internal/query"
)

// An instance's resource metric counts as risen only when its window mean
// clears the baseline by 3 standard deviations and by 20%, with enough
// baseline to tell.
func TestSaturated(t *testing.T) {
	sec := analysis.BucketNanos
	baseline, window := analysis.Range{From: 0, To: 10 * sec}, analysis.Range{From: 10 * sec, To: 15 * sec}
	rows := func(pod string, before, after float64, baselineBuckets int) []query.ResourceBucket {
		var out []query.ResourceBucket
		for b := 10 - baselineBuckets; b < 15; b++ {
			v := before + 0.01*float64(b%2)
			if b >= 10 {
				v = after
			}
			out = append(out, query.ResourceBucket{Service: "model-server", Instance: pod, Name: "process.cpu.utilization", Bucket: int64(b), Value: v})
		}
		return out
	}
	tests := []struct {
		name string
		rows []query.ResourceBucket
		want bool
	}{
		{name: "exhausted", rows: rows("p", 0.25, 0.97, 10), want: true},
		{name: "steady", rows: rows("p", 0.25, 0.255, 10), want: false},
		{name: "fell", rows: rows("p", 0.6, 0.1, 10), want: false},
		{name: "too little baseline", rows: rows("p", 0.25, 0.97, 3), want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := saturated(tc.rows, baseline, window)
			ev, ok := got["instance:model-server/p"]
			if ok != tc.want {
				t.Fatalf("saturated = %v, want risen: %v", got, tc.want)
			}
			if ok && ev["process_cpu_utilization_window"] != 0.97 {
				t.Errorf("evidence %v, want the window mean 0.97", ev)
			}
		})
	}
}
