package engine

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"

	"github.com/medic-sre/medic/services/detector/internal/mlstats"
	"github.com/medic-sre/medic/services/detector/internal/rules"
)

// maxCategories bounds the categories a categorical drift series tells
// apart; the rest share one "other" bin.
const maxCategories = 15

// profileReference is a drift rule's reference read from a profile file:
// bin edges (numeric) or category codes, their shares (the last bin of a
// categorical profile is "other"), and for KS the reference sample.
type profileReference struct {
	edges  []float64
	shares []float64
	sample []float64
}

func (m *mlRule) compileDrift(spec rules.Rule) error {
	m.categorical = spec.FeatureType == rules.FeatureCategorical
	m.bins = mlstats.DefaultPSIBins
	if m.categorical {
		m.bins = maxCategories + 1
	}
	ref := spec.Reference
	if ref.Profile != "" {
		p, err := spec.LoadProfile()
		if err != nil {
			return err
		}
		m.profile, err = newProfileReference(p, m.categorical)
		if err != nil {
			return err
		}
		m.bins = len(m.profile.shares)
		m.reference = "profile " + ref.Profile
		return nil
	}
	m.refWindows, m.lagWindows = int64(ref.Window)/m.width, int64(ref.Lag)/m.width
	m.ringLen = int(m.refWindows+m.lagWindows) + 2
	m.refSeconds = ref.Window.Seconds()
	m.reference = "trailing window " + formatDuration(ref.Window) + ", lag " + formatDuration(ref.Lag)
	if ref.Lag == 0 {
		m.reference = "trailing window " + formatDuration(ref.Window)
	}
	return nil
}

func newProfileReference(p *mlstats.Profile, categorical bool) (*profileReference, error) {
	if !categorical {
		if p.Numeric == nil {
			return nil, fmt.Errorf("reference profile of %s has no numeric part", p.Feature)
		}
		return &profileReference{edges: p.Numeric.Edges, shares: p.Numeric.Shares, sample: p.Numeric.Sample}, nil
	}
	if p.Categorical == nil {
		return nil, fmt.Errorf("reference profile of %s has no categorical part", p.Feature)
	}
	// Points carry numbers: a category the profile names by another text
	// can never be seen, so it joins "other".
	ref := &profileReference{}
	other := p.Categorical.Other
	for _, c := range p.Categorical.Categories {
		v, err := strconv.ParseFloat(c.Value, 64)
		if err != nil || len(ref.edges) == maxCategories {
			other += c.Share
			continue
		}
		ref.edges = append(ref.edges, v)
		ref.shares = append(ref.shares, c.Share)
	}
	ref.shares = append(ref.shares, other)
	return ref, nil
}

func (r *rule) driftMethod() string { return cmp.Or(r.spec.Method, rules.MethodPSI) }

// binOf is the PSI bin of v: for numeric edges, bin i is (edges[i-1],
// edges[i]]; for categories, the category's index or the last, "other".
func (m *mlRule) binOf(edges []float64, v float64) int {
	if !m.categorical {
		return sort.SearchFloat64s(edges, v)
	}
	if i := slices.Index(edges, v); i >= 0 {
		return i
	}
	return len(edges)
}

func (r *rule) addDrift(st *mlState, idx int64, v float64) pointFate {
	sl := st.win.at(idx, st.edges != nil)
	if sl == nil {
		return late
	}
	sl.n++
	sl.offer(v, &st.rng)
	if sl.binned {
		sl.bins[r.ml.binOf(st.edges, v)]++
	}
	return taken
}

// judgeDrift compares window idx with its reference.
func (r *rule) judgeDrift(st *mlState, idx int64, sc *scratch) mlVerdict {
	m := r.ml
	cur := st.win.get(idx)
	switch {
	case cur == nil:
		return empty
	case int(cur.n) < m.minPoints:
		return undecided
	}
	if r.driftMethod() == rules.MethodKS {
		return r.judgeKS(st, cur, idx, sc)
	}
	if st.edges == nil {
		// The first full window sets the bins every later window counts in.
		st.edges = m.edgesFrom(cur.sample)
		return undecided
	}
	return r.judgePSI(st, cur, idx, sc)
}

// referenceSlots are the windows of idx's trailing reference that hold
// points.
func (m *mlRule) referenceSlots(st *mlState, idx int64, buf []*slot) []*slot {
	end := idx - m.lagWindows
	for j := end - m.refWindows; j < end; j++ {
		if sl := st.win.get(j); sl != nil {
			buf = append(buf, sl)
		}
	}
	return buf
}

func (r *rule) judgePSI(st *mlState, cur *slot, idx int64, sc *scratch) mlVerdict {
	m := r.ml
	if !cur.binned {
		return undecided
	}
	ref := sc.shares[:0]
	if m.profile != nil {
		ref = append(ref, m.profile.shares...)
	} else {
		ref = slices.Grow(ref, len(cur.bins))[:len(cur.bins)]
		clear(ref)
		total := 0.0
		for _, sl := range m.referenceSlots(st, idx, sc.slots[:0]) {
			if !sl.binned {
				continue
			}
			for i, c := range sl.bins {
				ref[i] += float64(c)
			}
			total += float64(sl.n)
		}
		if total < float64(m.minPoints) {
			return undecided
		}
		for i := range ref {
			ref[i] /= total
		}
	}
	now := sc.values[:0]
	for _, c := range cur.bins {
		now = append(now, float64(c)/float64(cur.n))
	}
	sc.shares, sc.values = ref, now
	psi := mlstats.PSI(ref, now)
	st.result = mlResult{value: psi, expected: m.limit, statistic: psi}
	if r.spec.Severity == "" {
		st.result.severity = mlstats.ClassifyPSI(psi).String()
	}
	if psi >= m.limit {
		return anomalous
	}
	return normal
}

func (r *rule) judgeKS(st *mlState, cur *slot, idx int64, sc *scratch) mlVerdict {
	m := r.ml
	ref := sc.values[:0]
	if m.profile != nil {
		ref = append(ref, m.profile.sample...)
	} else {
		slots := m.referenceSlots(st, idx, sc.slots[:0])
		sc.slots = slots
		var total uint32
		for _, sl := range slots {
			total += sl.n
		}
		if int(total) < m.minPoints {
			return undecided
		}
		ref = weightedSample(ref, slots, total)
	}
	now := sc.other[:0]
	for _, v := range cur.sample {
		now = append(now, float64(v))
	}
	sc.values, sc.other = ref, now
	res, err := mlstats.KSTest(ref, now)
	if err != nil {
		return undecided
	}
	st.result = mlResult{value: res.D, expected: m.limit, statistic: res.D, pValue: res.PValue, hasP: true}
	if res.PValue < m.limit {
		return anomalous
	}
	return normal
}

// weightedSample merges the windows' samples in proportion to their point
// counts, so that a thin window does not weigh as much as a busy one.
func weightedSample(dst []float64, slots []*slot, total uint32) []float64 {
	size := driftSample * len(slots)
	for _, sl := range slots {
		k := min(len(sl.sample), int(math.Round(float64(size)*float64(sl.n)/float64(total))))
		for _, v := range sl.sample[:k] {
			dst = append(dst, float64(v))
		}
	}
	return dst
}

// edgesFrom picks PSI bins from a window's sample: the sample's deciles
// (merged where they repeat), or its most frequent categories.
func (m *mlRule) edgesFrom(sample []float32) []float64 {
	vs := make([]float64, len(sample))
	for i, v := range sample {
		vs[i] = float64(v)
	}
	slices.Sort(vs)
	if m.categorical {
		return topCategories(vs)
	}
	var edges []float64
	for k := 1; k < m.bins; k++ {
		i := int(math.Ceil(float64(k*len(vs))/float64(m.bins))) - 1
		if e := vs[max(i, 0)]; len(edges) == 0 || e > edges[len(edges)-1] {
			edges = append(edges, e)
		}
	}
	return edges
}

// topCategories lists the most frequent values of a sorted sample.
func topCategories(sorted []float64) []float64 {
	type count struct {
		v float64
		n int
	}
	var cs []count
	for i := 0; i < len(sorted); {
		j := i
		for j < len(sorted) && sorted[j] == sorted[i] {
			j++
		}
		cs = append(cs, count{sorted[i], j - i})
		i = j
	}
	slices.SortStableFunc(cs, func(a, b count) int { return cmp.Compare(b.n, a.n) })
	out := make([]float64, 0, min(len(cs), maxCategories))
	for _, c := range cs[:min(len(cs), maxCategories)] {
		out = append(out, c.v)
	}
	return out
}
