package engine

import (
	"cmp"
	"math"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/detector/internal/mlstats"
	"github.com/medic-sre/medic/services/detector/internal/rules"
)

// addCanary adds a point to its version's window. Past maxVersions
// versions in a series, a new version's points are dropped.
func (r *rule) addCanary(st *mlState, idx int64, p *events.Point) pointFate {
	w, ok := st.versions[p.ModelVersion]
	if !ok {
		if len(st.versions) == maxVersions {
			return dropped
		}
		sample := canarySample
		if r.spec.Method == rules.MethodProportion {
			sample = 0
		}
		w = newWindows(2, 0, sample)
		st.versions[p.ModelVersion] = w
	}
	sl := w.at(idx, false)
	if sl == nil {
		return late
	}
	sl.n++
	sl.sum += p.Value
	if p.Value != 0 {
		sl.hits++
	}
	if cap(sl.sample) > 0 {
		sl.offer(p.Value, &st.rng)
	}
	return taken
}

// judgeCanary compares each version's window idx with the baseline
// version's and keeps the most significant difference.
func (r *rule) judgeCanary(st *mlState, idx int64, sc *scratch) mlVerdict {
	m := r.ml
	base := r.canaryBaseline(st, idx)
	for v, w := range st.versions {
		if w.get(idx) == nil && w.get(idx+1) == nil {
			delete(st.versions, v) // a version that stopped: forget it
		}
	}
	if len(st.versions) == 0 {
		return empty
	}
	if base == "" {
		return undecided
	}
	bs := st.versions[base].get(idx)
	var best mlstats.TestResult
	var cand string
	for v, w := range st.versions {
		cs := w.get(idx)
		if v == base || cs == nil {
			continue
		}
		res, ok := r.canaryTest(cs, bs, sc)
		if ok && (cand == "" || res.PValue < best.PValue || (res.PValue == best.PValue && v < cand)) {
			best, cand = res, v
		}
	}
	if cand == "" {
		return undecided
	}
	cs := st.versions[cand].get(idx)
	st.result = mlResult{value: r.canaryValue(cs), expected: r.canaryValue(bs), statistic: best.Z,
		pValue: best.PValue, hasP: true, candidate: cand, baseline: base}
	if best.PValue < m.limit {
		return anomalous
	}
	return normal
}

// canaryBaseline is the version the others are compared with: the rule's
// baseline_version, else the version with the most points in the window.
func (r *rule) canaryBaseline(st *mlState, idx int64) string {
	if v := r.spec.BaselineVersion; v != "" {
		if st.versions[v].get(idx) != nil {
			return v
		}
		return ""
	}
	best, n := "", uint32(0)
	for v, w := range st.versions {
		if sl := w.get(idx); sl != nil && (sl.n > n || (sl.n == n && v < best)) {
			best, n = v, sl.n
		}
	}
	return best
}

func (r *rule) canaryTest(cand, base *slot, sc *scratch) (mlstats.TestResult, bool) {
	m := r.ml
	if r.spec.Method == rules.MethodProportion {
		res, err := mlstats.TwoProportionZ(int(cand.hits), int(cand.n), int(base.hits), int(base.n), m.alt, m.minPoints)
		return res, err == nil && !res.Insufficient
	}
	if int(cand.n) < m.minPoints || int(base.n) < m.minPoints {
		return mlstats.TestResult{}, false
	}
	c, b := sc.values[:0], sc.other[:0]
	for _, v := range cand.sample {
		c = append(c, float64(v))
	}
	for _, v := range base.sample {
		b = append(b, float64(v))
	}
	sc.values, sc.other = c, b
	res := mlstats.MannWhitneyU(c, b, m.alt, min(m.minPoints, len(c), len(b)))
	return res, !res.Insufficient && !math.IsNaN(res.PValue)
}

// canaryValue is a version's mean, or its share of events for the
// proportion test.
func (r *rule) canaryValue(s *slot) float64 {
	if r.spec.Method == rules.MethodProportion {
		return float64(s.hits) / float64(s.n)
	}
	return s.sum / float64(cmp.Or(s.n, 1))
}
