package analysis

import (
	"maps"
	"testing"
)

func TestStepOf(t *testing.T) {
	tests := []struct {
		name string
		y    Series
		want int64
	}{
		{name: "every second", y: Series{10: 1, 11: 1, 12: 1, 14: 1}, want: 1},
		{name: "every five minutes, one gap", y: Series{0: 1, 300: 1, 600: 1, 1500: 1}, want: 300},
		{name: "one point", y: Series{7: 1}, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := StepOf(tt.y); got != tt.want {
				t.Errorf("StepOf = %d, want %d", got, tt.want)
			}
		})
	}
}

// Points a few seconds apart on a 300-second step meet in one bucket, and
// the buckets start at the origin, so the window's first bucket is inside
// the window.
func TestGridMean(t *testing.T) {
	g := Grid{Origin: 1000, Width: 300}
	got := g.Mean(Series{1000: 1, 1007: 3, 1300: 5, 999: 7})
	want := Series{1000: 2, 1300: 5, 700: 7}
	if !maps.Equal(got, want) {
		t.Errorf("Mean = %v, want %v", got, want)
	}
	one := Series{5: 1, 6: 2}
	if got := (Grid{Origin: 0, Width: 1}).Mean(one); !maps.Equal(got, one) {
		t.Errorf("1-second grid changed %v to %v", one, got)
	}
}
