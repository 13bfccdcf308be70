package analysis

import (
	"math"
	"testing"
	"time"
)

// step is a series that is lo for buckets [0, at) and hi for [at, n).
func step(n, at int64, lo, hi float64) Series {
	s := Series{}
	for b := range n {
		s[b] = lo
		if b >= at {
			s[b] = hi
		}
	}
	return s
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestPearson(t *testing.T) {
	buckets := []int64{0, 1, 2, 3, 4, 5}
	y := Series{0: 1, 1: 2, 2: 3, 3: 4, 4: 5, 5: 6}
	tests := []struct {
		name string
		x    Series
		want float64
	}{
		{name: "same shape", x: Series{0: 10, 1: 20, 2: 30, 3: 40, 4: 50, 5: 60}, want: 1},
		{name: "opposite shape", x: Series{0: 6, 1: 5, 2: 4, 3: 3, 4: 2, 5: 1}, want: -1},
		{name: "flat series carries no evidence", x: Series{0: 0.005, 1: 0.005, 2: 0.005, 3: 0.005, 4: 0.005, 5: 0.005}, want: 0},
		{name: "missing buckets count as zero", x: Series{5: 1}, want: Pearson(Series{0: 0, 1: 0, 2: 0, 3: 0, 4: 0, 5: 1}, y, buckets)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Pearson(tt.x, y, buckets); !near(got, tt.want) {
				t.Fatalf("Pearson = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMeasure(t *testing.T) {
	// Ten baseline buckets, ten window buckets; the symptom rises from 0.1
	// to 0.5 at the window's start.
	y := step(20, 10, 0.1, 0.5)
	f := NewFrame(y, Range{0, 10 * BucketNanos}, Range{10 * BucketNanos, 20 * BucketNanos})
	tests := []struct {
		name          string
		x             Series
		wantExplained float64
		wantCorrSign  float64
	}{
		{name: "accounts for all of the excess", x: step(20, 10, 0, 0.4), wantExplained: 1, wantCorrSign: 1},
		{name: "accounts for half", x: step(20, 10, 0, 0.2), wantExplained: 0.5, wantCorrSign: 1},
		{name: "more than the excess is capped", x: step(20, 10, 0, 0.9), wantExplained: 1, wantCorrSign: 1},
		{name: "falling series explains nothing", x: step(20, 10, 0.3, 0.1), wantExplained: 0, wantCorrSign: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Measure(tt.x, y, f)
			if !near(c.Explained, tt.wantExplained) {
				t.Errorf("explained = %v, want %v", c.Explained, tt.wantExplained)
			}
			if math.Signbit(c.Corr) != math.Signbit(tt.wantCorrSign) || c.Corr == 0 {
				t.Errorf("corr = %v, want sign of %v", c.Corr, tt.wantCorrSign)
			}
			wantLift := (c.MeanWindow - c.MeanBaseline) / liftEpsilon // flat baseline
			if !near(c.Lift, wantLift) {
				t.Errorf("lift = %v, want %v", c.Lift, wantLift)
			}
		})
	}
}

func TestProximity(t *testing.T) {
	s := int64(1_000_000) * BucketNanos
	tests := []struct {
		name string
		t    int64
		want float64
	}{
		{name: "at the symptom", t: s, want: 1},
		{name: "one scale before", t: s - int64(ProximityScale), want: math.Exp(-1)},
		{name: "within the slack after", t: s + int64(2*time.Second), want: math.Exp(-2.0 / 60)},
		{name: "after the slack", t: s + int64(ChangeSlack) + 1, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Proximity(s, tt.t); !near(got, tt.want) {
				t.Fatalf("Proximity = %v, want %v", got, tt.want)
			}
		})
	}
}
