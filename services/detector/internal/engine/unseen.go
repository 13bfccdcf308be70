package engine

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/medic-sre/medic/services/detector/internal/mlstats"
	"github.com/medic-sre/medic/services/detector/internal/rules"
)

// An unseen_category series remembers each distinct value it holds once,
// by a small index, and each window the set of indexes it saw: a bit per
// value, so that a long trailing reference costs 64 bytes a window.
const (
	knownWords = rules.MaxKnownCategories / 64
	// maxUnseenNamed bounds the unseen values an anomaly names.
	maxUnseenNamed = 5
	// unseenValuesLabel is the label an unseen_category anomaly names its
	// unseen values in.
	unseenValuesLabel = "unseen_values"
	// defaultUnseenSummary is the summary of a rule that sets none: the
	// values are the point of the alert.
	defaultUnseenSummary = "{{.Metric}}: {{num .Value}} of records in categories the reference never held: {{.Labels.unseen_values}}"
)

type categoryBits [knownWords]uint64

func (b *categoryBits) set(i uint16)      { b[i/64] |= 1 << (i % 64) }
func (b *categoryBits) has(i uint16) bool { return b[i/64]&(1<<(i%64)) != 0 }

func (b *categoryBits) or(o *categoryBits) {
	for i := range b {
		b[i] |= o[i]
	}
}

// categoryWindow is one tumbling window of an unseen_category series.
type categoryWindow struct {
	idx int64
	// n counts the window's records; untracked those whose value found no
	// room among the values the series remembers.
	n, untracked uint32
	seen         categoryBits
	// counts are the records per value index, kept until the window is
	// judged (the reference needs the bits only).
	counts map[uint16]uint32
}

// categoryState is an unseen_category series' memory: the values it
// remembers, by index, and a ring of windows.
type categoryState struct {
	index  map[float64]uint16
	values []float64 // by index; NaN where an index was freed
	free   []uint16
	// pinned: the profile's categories, indexes below it, are never freed.
	pinned uint16
	ring   []categoryWindow
}

func (m *mlRule) compileUnseen(spec rules.Rule, r *rule) error {
	m.categorical = true
	ref := spec.Reference
	if ref.Profile != "" {
		p, err := spec.LoadProfile()
		if err != nil {
			return err
		}
		if m.known, err = profileCategories(p); err != nil {
			return err
		}
		m.reference = "profile " + ref.Profile
	} else {
		m.trailing(ref)
	}
	if spec.Summary == "" {
		r.spec.Summary = defaultUnseenSummary
		tmpl, err := r.spec.Template()
		if err != nil {
			return err
		}
		r.summary = tmpl
	}
	var err error
	m.cond, err = condition(spec.MLOp(), m.limit)
	return err
}

// trailing makes the reference the windows of ref before each window, as
// a drift rule takes them.
func (m *mlRule) trailing(ref *rules.Reference) {
	m.refWindows, m.lagWindows = int64(ref.Window)/m.width, int64(ref.Lag)/m.width
	m.ringLen = int(m.refWindows+m.lagWindows) + 2
	m.refSeconds = ref.Window.Seconds()
	m.reference = "trailing window " + formatDuration(ref.Window)
	if ref.Lag != 0 {
		m.reference += ", lag " + formatDuration(ref.Lag)
	}
}

// profileCategories are the categories a profile lists. Points carry
// numbers: a category named by another text can never be seen, so it is
// left out.
func profileCategories(p *mlstats.Profile) ([]float64, error) {
	switch {
	case p.Categorical == nil:
		return nil, fmt.Errorf("reference profile of %s has no categorical part", p.Feature)
	case p.Categorical.Other > 0:
		return nil, fmt.Errorf("reference profile of %s lists its top categories only", p.Feature)
	case len(p.Categorical.Categories) > rules.MaxKnownCategories:
		return nil, fmt.Errorf("reference profile of %s names more than %d categories", p.Feature, rules.MaxKnownCategories)
	}
	var out []float64
	for _, c := range p.Categorical.Categories {
		if v, err := strconv.ParseFloat(c.Value, 64); err == nil && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out, nil
}

func newCategoryState(m *mlRule) *categoryState {
	c := &categoryState{index: map[float64]uint16{}, ring: make([]categoryWindow, m.ringLen)}
	for i := range c.ring {
		c.ring[i].idx = -1
	}
	for _, v := range m.known {
		c.index[v] = uint16(len(c.values))
		c.values = append(c.values, v)
	}
	c.pinned = uint16(len(c.values))
	return c
}

// at returns window idx, resetting the slot of an older one; nil when the
// ring has moved past idx.
func (c *categoryState) at(idx int64) *categoryWindow {
	w := &c.ring[idx%int64(len(c.ring))]
	switch {
	case w.idx == idx:
		return w
	case w.idx > idx:
		return nil
	}
	*w = categoryWindow{idx: idx}
	return w
}

// get returns window idx, or nil if no record came in it.
func (c *categoryState) get(idx int64) *categoryWindow {
	if idx < 0 {
		return nil
	}
	w := &c.ring[idx%int64(len(c.ring))]
	if w.idx != idx || w.n == 0 {
		return nil
	}
	return w
}

// indexOf is v's index, given one if v is new; false when every index is
// taken by a value the ring's windows hold.
func (c *categoryState) indexOf(v float64) (uint16, bool) {
	if i, ok := c.index[v]; ok {
		return i, true
	}
	if len(c.free) == 0 && len(c.values) == rules.MaxKnownCategories {
		c.reclaim()
	}
	var i uint16
	switch {
	case len(c.free) > 0:
		i, c.free = c.free[len(c.free)-1], c.free[:len(c.free)-1]
		c.values[i] = v
	case len(c.values) < rules.MaxKnownCategories:
		i = uint16(len(c.values))
		c.values = append(c.values, v)
	default:
		return 0, false
	}
	c.index[v] = i
	return i, true
}

// reclaim frees the indexes of values no window of the ring holds any
// more: they left the reference.
func (c *categoryState) reclaim() {
	newest := int64(-1)
	for i := range c.ring {
		newest = max(newest, c.ring[i].idx)
	}
	var held categoryBits
	for i := range c.ring {
		if w := &c.ring[i]; w.idx > newest-int64(len(c.ring)) {
			held.or(&w.seen)
		}
	}
	for i := c.pinned; int(i) < len(c.values); i++ {
		if v := c.values[i]; !math.IsNaN(v) && !held.has(i) {
			delete(c.index, v)
			c.values[i] = math.NaN()
			c.free = append(c.free, i)
		}
	}
}

// addCategory counts one record of an unseen_category rule.
func (r *rule) addCategory(st *mlState, idx int64, v float64) pointFate {
	c := st.cats
	w := c.at(idx)
	if w == nil {
		return late
	}
	w.n++
	i, ok := c.indexOf(v)
	if !ok {
		w.untracked++
		return taken
	}
	w.seen.set(i)
	if w.counts == nil {
		w.counts = map[uint16]uint32{}
	}
	w.counts[i]++
	return taken
}

// judgeUnseen judges window idx: the share of its records whose value no
// window of its reference (or the profile) held.
func (r *rule) judgeUnseen(st *mlState, idx int64) mlVerdict {
	m, c := r.ml, st.cats
	cur := c.get(idx)
	if cur == nil {
		return empty
	}
	// Judged once: from now on the window is a reference, its bits enough.
	defer func() { cur.counts = nil }()
	if int(cur.n) < m.minPoints {
		return undecided
	}
	ref, ok := r.knownBefore(c, idx)
	if !ok {
		return undecided
	}
	// A value that found no room is not in the reference either: the
	// reference's values all hold their indexes while it lasts.
	unseen := cur.untracked
	var named []valueCount
	for i, n := range cur.counts {
		if !ref.has(i) {
			unseen += n
			named = append(named, valueCount{c.values[i], n})
		}
	}
	share := float64(unseen) / float64(cur.n)
	st.result = mlResult{value: share, expected: m.limit, statistic: float64(unseen), unseen: nameUnseen(named, cur.untracked)}
	if m.cond(share) {
		return anomalous
	}
	return normal
}

// knownBefore is the set of values window idx is judged against: the
// profile's, or those of its trailing reference, which must hold
// min_points records and no record whose value found no room (then the
// set is not whole, and nothing is decided).
func (r *rule) knownBefore(c *categoryState, idx int64) (categoryBits, bool) {
	var ref categoryBits
	m := r.ml
	if m.refWindows == 0 { // a profile
		for i := range c.pinned {
			ref.set(i)
		}
		return ref, true
	}
	var total uint32
	end := idx - m.lagWindows
	for j := end - m.refWindows; j < end; j++ {
		w := c.get(j)
		if w == nil {
			continue
		}
		if w.untracked > 0 {
			return ref, false
		}
		total += w.n
		ref.or(&w.seen)
	}
	return ref, int(total) >= m.minPoints
}

type valueCount struct {
	v float64
	n uint32
}

// nameUnseen writes the most frequent unseen values with their record
// counts, "7 (120), 9 (3), +4 more", bounded whatever their number.
func nameUnseen(vs []valueCount, untracked uint32) string {
	slices.SortFunc(vs, func(a, b valueCount) int { return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.v, b.v)) })
	parts := make([]string, 0, maxUnseenNamed+2)
	for _, x := range vs[:min(len(vs), maxUnseenNamed)] {
		parts = append(parts, strconv.FormatFloat(x.v, 'g', -1, 64)+" ("+strconv.FormatUint(uint64(x.n), 10)+")")
	}
	if len(vs) > maxUnseenNamed {
		parts = append(parts, "+"+strconv.Itoa(len(vs)-maxUnseenNamed)+" more")
	}
	if untracked > 0 {
		parts = append(parts, fmt.Sprintf("%d records of values past the %d remembered", untracked, rules.MaxKnownCategories))
	}
	return strings.Join(parts, ", ")
}
