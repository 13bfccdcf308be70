package engine

import "math"

// judgeVolume judges window idx's count of points against the counts of
// the baseline's windows before it by a robust z-score: the median, and
// 1.4826 MADs as the spread, but never less than the Poisson spread of a
// count, √median, nor than one point, so that a steady trickle does not
// fire on a single point more or less.
func (r *rule) judgeVolume(st *mlState, idx int64, sc *scratch) mlVerdict {
	m := r.ml
	if idx <= st.firstWin {
		return undecided // the series' first window is partial
	}
	counts := sc.values[:0]
	for j := max(idx-m.refWindows, st.firstWin+1); j < idx; j++ {
		counts = append(counts, float64(slotCount(st.win.get(j))))
	}
	sc.values = counts
	if len(counts) < m.minBaseline || len(counts) == 0 {
		return undecided
	}
	n := float64(slotCount(st.win.get(idx)))
	med := median(counts)
	for i, c := range counts {
		counts[i] = math.Abs(c - med)
	}
	scale := max(1.4826*median(counts), math.Sqrt(med), 1)
	z := (n - med) / scale
	st.result = mlResult{value: n, expected: med, statistic: z}
	if m.zcond(z) {
		return anomalous
	}
	return normal
}

func slotCount(s *slot) uint32 {
	if s == nil {
		return 0
	}
	return s.n
}
