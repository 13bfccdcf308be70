package store

import (
	"slices"
	"testing"
	"time"
)

func TestBackoffGrowsCapsAndResets(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name  string
		steps []string // "fail" or "reset"
		want  []time.Duration
	}{
		{name: "doubles to the cap", steps: []string{"fail", "fail", "fail", "fail", "fail", "fail"},
			want: []time.Duration{250 * ms, 500 * ms, 1000 * ms, 2000 * ms, 4000 * ms, 5000 * ms}},
		{name: "starts over after a success", steps: []string{"fail", "fail", "fail", "reset", "fail", "fail"},
			want: []time.Duration{250 * ms, 500 * ms, 1000 * ms, 250 * ms, 500 * ms}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := backoff{base: 250 * ms, max: 5 * time.Second}
			var got []time.Duration
			for _, s := range tc.steps {
				if s == "reset" {
					b.reset()
					continue
				}
				got = append(got, b.failed())
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}
