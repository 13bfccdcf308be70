package engine

import (
	"github.com/medic-sre/medic/services/detector/internal/rules"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// Cells must read as the points they merged: for every aggregate kept in
// cells, per step and per export, a window's and a step's reading over
// cells equals the reading over the raw points of the same span. Values
// are whole numbers, so sums are exact in any order and the readings must
// be equal to the bit. The points come shuffled, some exports lack some
// buckets, and some windows lack the +Inf bucket.
func TestCellsReadAsTheirPoints(t *testing.T) {
	bounds := []float64{1, 5, 10, 50, math.Inf(1)}
	const window, step = 4 * time.Second, time.Second
	tests := []struct {
		name      string
		aggregate string
		kind      cellKind
		cellStep  int64
	}{
		{name: "sum by step", aggregate: "sum", kind: sumCells, cellStep: int64(step)},
		{name: "count by step", aggregate: "count", kind: sumCells, cellStep: int64(step)},
		{name: "rate by step", aggregate: "rate", kind: sumCells, cellStep: int64(step)},
		{name: "avg by step", aggregate: "avg", kind: sumCells, cellStep: int64(step)},
		{name: "min by step", aggregate: "min", kind: extremeCells, cellStep: int64(step)},
		{name: "max by step", aggregate: "max", kind: extremeCells, cellStep: int64(step)},
		{name: "ratio by step", aggregate: "ratio", kind: ratioCells, cellStep: int64(step)},
		{name: "ratio by export", aggregate: "ratio", kind: ratioCells},
		{name: "histogram_p50 by step", aggregate: "histogram_p50", kind: histCells, cellStep: int64(step)},
		{name: "histogram_p95 by export", aggregate: "histogram_p95", kind: histCells},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, uint64(len(tc.name))))
			var raw []sample
			for at := 0; at < 12_000; at += 250 {
				if tc.kind != histCells {
					for k := range 2 { // a ratio's numerator and denominator
						if rng.IntN(5) > 0 {
							raw = append(raw, sample{t: t0 + ms(at), v: float64(rng.IntN(30)), k: float64(k)})
						}
					}
					continue
				}
				for _, le := range bounds {
					// Some exports lack a bucket; the seconds from 6s to 8s lack +Inf.
					if rng.IntN(6) > 0 && (!math.IsInf(le, 1) || at < 6000 || at >= 8000) {
						raw = append(raw, sample{t: t0 + ms(at), v: float64(rng.IntN(40)), k: le})
					}
				}
			}
			r := &rule{cellKind: tc.kind, cellStep: tc.cellStep, cellWidth: map[cellKind]int{sumCells: 2, ratioCells: 3, extremeCells: 2}[tc.kind],
				better: map[string]func(a, b float64) bool{"min": less, "max": greater}[tc.aggregate]}
			c := r.newCells()
			for _, i := range rng.Perm(len(raw)) {
				c.add(r, raw[i].t, raw[i].v, raw[i].k)
			}
			slices.SortStableFunc(raw, func(a, b sample) int { return int(a.t - b.t) })
			for _, span := range []time.Duration{window, step} {
				agg, err := aggregatorFor(tc.aggregate, span)
				if err != nil {
					t.Fatal(err)
				}
				cellAgg := cellAggregatorFor(tc.aggregate, span)
				for to := t0 + int64(span); to <= t0+ms(12_000); to += int64(step) {
					from := to - int64(span)
					s := series{pts: raw}
					pts := s.in(from, to)
					lo, hi := c.in(from, to)
					if (len(pts) == 0) != (lo == hi) {
						t.Fatalf("(%d, %d]: %d points but cells [%d, %d)", from-t0, to-t0, len(pts), lo, hi)
					}
					if len(pts) == 0 {
						continue
					}
					want, got := agg(slices.Clone(pts), &scratch{}), cellAgg(c, lo, hi, &scratch{})
					if got != want {
						t.Fatalf("%v window ending +%dms: cells read %+v, points %+v", span, (to-t0)/ms(1), got, want)
					}
					if tc.cellStep != 0 && c.first(lo) != pts[0].t {
						t.Fatalf("window ending +%dms: first point %d, cells say %d", (to-t0)/ms(1), pts[0].t-t0, c.first(lo)-t0)
					}
				}
			}
			// Evicting keeps exactly the cells after the cut.
			c.evictBefore(t0 + ms(9000))
			if len(c.keys) == 0 || c.keys[0] <= t0+ms(9000) || c.vals.len() != len(c.keys)*c.width {
				t.Fatalf("after eviction at 9s: keys from +%dms, %d values for %d cells of %d",
					(c.keys[0]-t0)/ms(1), c.vals.len(), len(c.keys), c.width)
			}
		})
	}
}

// Sums stay float32 while every value is exactly one, and turn float64
// when one is not, without losing a value.
func TestSumsWidenWithoutLoss(t *testing.T) {
	var v sums
	v.open(0, 3, 0)
	v.set(0, 25)
	v.set(1, 17.5)
	if v.wide != nil {
		t.Fatal("whole numbers and halves widened the sums")
	}
	v.set(2, 0.1)
	if v.wide == nil {
		t.Fatal("0.1, not a float32, left the sums narrow")
	}
	for i, want := range []float64{25, 17.5, 0.1} {
		if got := v.get(i); got != want {
			t.Errorf("value %d reads %v, want %v", i, got, want)
		}
	}
	v.open(1, 1, math.NaN())
	if !math.IsNaN(v.get(1)) || v.get(2) != 17.5 {
		t.Fatalf("opening a slot at 1 read %v, %v", v.get(1), v.get(2))
	}
}

// The budget: at most 4 KiB per active series for the default
// rules as thresholds, zscore and ewma rules, once windows and baselines
// are full (BenchmarkSeriesMemory measures it at 200 models).
func TestSeriesMemoryWithinBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("fills 11 minutes of baselines")
	}
	for _, kind := range []string{"", "zscore", "ewma"} {
		rs := loadRules(t, "")
		if kind != "" {
			// Every default rule but one over raw points' percentiles,
			// which keeps its points (a latency quantile is for a
			// histogram rule).
			rs = asDetector(slices.DeleteFunc(rs, func(r rules.Rule) bool { return cellKindOf(r.Aggregate, true) == rawPoints }), kind)
		}
		if got := bytesPerSeries(t, rs, append(otlpExport(100), resourceExport(100)...)); got > 4096 {
			t.Errorf("%q rules hold %.0f B per series, over 4096", kind, got)
		}
	}
}
