package rcasuite

import (
	"math"
	"strings"
	"testing"
)

func TestAccuracy(t *testing.T) {
	cases := []Case{{Kind: "a", Rank: 1}, {Kind: "a", Rank: 2}, {Kind: "b", Rank: 4}, {Kind: "b", Rank: 0}}
	tests := []struct {
		name string
		got  float64
		want float64
	}{
		{name: "AC@1", got: AC(cases, 1), want: 0.25},
		{name: "AC@3", got: AC(cases, 3), want: 0.5},
		{name: "AC@5", got: AC(cases, 5), want: 0.75},
		// (0.25 + 0.5 + 0.5 + 0.75 + 0.75) / 5
		{name: "Avg@5", got: Avg(cases, 5), want: 0.55},
		{name: "no cases", got: AC(nil, 1), want: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if math.Abs(tc.got-tc.want) > 1e-9 {
				t.Errorf("got %v, want %v", tc.got, tc.want)
			}
		})
	}
	table := Table(cases)
	for _, want := range []string{"| a | 2 | 0.50 | 1.00 | 0.90 | 1 2 |", "| b | 2 | 0.00 | 0.00 | 0.20 | 4 0 |", "| **all** | 4 | 0.25 | 0.50 | 0.55 |"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
}
