package engine

import (
	"encoding/json"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
)

func TestAggregates(t *testing.T) {
	values := []float64{4, 1, 3, 2, 5, 10, 6, 8, 7, 9} // 1..10, shuffled
	var window []sample
	for i, v := range values {
		window = append(window, sample{t: int64(i), v: v})
	}
	tests := []struct {
		name string
		want float64
	}{
		{name: "avg", want: 5.5},
		{name: "sum", want: 55},
		{name: "count", want: 10},
		{name: "rate", want: 10.0 / 2}, // 10 points in a 2s window
		{name: "max", want: 10},
		{name: "min", want: 1},
		{name: "p50", want: 5.5},
		{name: "p95", want: 1 + 0.95*9},
		{name: "p99", want: 1 + 0.99*9},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			agg, err := aggregatorFor(tc.name, 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			got := agg(window, &scratch{}).v
			if math.Abs(got-tc.want) > 1e-9 {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestConditions(t *testing.T) {
	tests := []struct {
		op   string
		v    float64
		want bool
	}{
		{">", 2, true}, {">", 1, false}, {">=", 1, true}, {">=", 0.9, false},
		{"<", 0.5, true}, {"<", 1, false}, {"<=", 1, true}, {"<=", 1.1, false},
	}
	for _, tc := range tests {
		t.Run(tc.op+strconv.FormatFloat(tc.v, 'g', -1, 64), func(t *testing.T) {
			c, err := condition(tc.op, 1)
			if err != nil {
				t.Fatal(err)
			}
			if c(tc.v) != tc.want {
				t.Fatalf("%v %s 1 = %v, want %v", tc.v, tc.op, !tc.want, tc.want)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// groupKeyOf is the key of the errors rule's series for a service and model "f".
func groupKeyOf(e *Engine, svc string) []byte {
	return e.rules[0].groupKey(nil, &events.Point{Service: svc, Model: "f"})
}
