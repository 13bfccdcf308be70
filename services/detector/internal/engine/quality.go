package engine

import (
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/detector/internal/rules"
)

// addCount counts a point of a missing_rate, out_of_range or volume rule.
func (r *rule) addCount(st *mlState, idx int64, p *events.Point) pointFate {
	sl := st.win.at(idx, false)
	if sl == nil {
		return late
	}
	sl.n++
	switch r.kind {
	case rules.DetectorMissingRate:
		if p.Name != r.spec.Metric {
			sl.hits++
		}
	case rules.DetectorOutOfRange:
		if p.Value < r.ml.lo || p.Value > r.ml.hi {
			sl.hits++
		}
	}
	return taken
}

// judgeShare judges a missing_rate or out_of_range window: the share of its
// points that are missing or out of range.
func (r *rule) judgeShare(st *mlState, idx int64) mlVerdict {
	sl := st.win.get(idx)
	switch {
	case sl == nil:
		return empty
	case int(sl.n) < r.ml.minPoints:
		return undecided
	}
	share := float64(sl.hits) / float64(sl.n)
	st.result = mlResult{value: share, expected: r.ml.limit}
	if r.ml.cond(share) {
		return anomalous
	}
	return normal
}
