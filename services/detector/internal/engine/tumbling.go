package engine

import "math"

// slot is the digest of one tumbling window of an ML rule's series: counts
// and, where the rule needs them, PSI bin counts and a uniform sample.
// Windows are numbered by their start over their width (idx).
type slot struct {
	idx int64
	// n counts the window's points; hits those that count as an event
	// (missing, out of range, a non-zero canary outcome); sum adds the
	// values up, for a canary's means.
	n, hits uint32
	sum     float64
	// binned is true when the bin edges were known as the window opened,
	// so that bins counts every one of its points.
	binned bool
	bins   []uint32
	sample []float32
}

// reset makes s the empty window idx, keeping its memory.
func (s *slot) reset(idx int64, binned bool) {
	s.idx, s.n, s.hits, s.sum, s.binned = idx, 0, 0, 0, binned
	clear(s.bins)
	s.sample = s.sample[:0]
}

// offer adds v to the sample (Vitter's algorithm R; n already counts v).
func (s *slot) offer(v float64, rng *uint64) {
	if len(s.sample) < cap(s.sample) {
		s.sample = append(s.sample, float32(v))
		return
	}
	if j := nextRand(rng) % uint64(s.n); j < uint64(len(s.sample)) {
		s.sample[j] = float32(v)
	}
}

// nextRand is xorshift64*: 8 bytes of state per series, where math/rand's
// generators take a pointer and 16 bytes more.
func nextRand(x *uint64) uint64 {
	*x ^= *x >> 12
	*x ^= *x << 25
	*x ^= *x >> 27
	return *x * 2685821657736338717
}

// windows is a ring of slots by window index.
type windows []slot

// at returns the slot of window idx, resetting a slot that held an older
// window; nil when the ring has moved past idx already.
func (w windows) at(idx int64, binned bool) *slot {
	s := &w[idx%int64(len(w))]
	switch {
	case s.idx == idx:
		return s
	case s.idx > idx:
		return nil
	}
	s.reset(idx, binned)
	return s
}

// get returns the slot of window idx, or nil if no point came in it.
func (w windows) get(idx int64) *slot {
	if idx < 0 {
		return nil
	}
	s := &w[idx%int64(len(w))]
	if s.idx != idx || s.n == 0 {
		return nil
	}
	return s
}

func newWindows(n, bins, sample int) windows {
	w := make(windows, n)
	for i := range w {
		w[i].idx = -1
		if bins > 0 {
			w[i].bins = make([]uint32, bins)
		}
		if sample > 0 {
			w[i].sample = make([]float32, 0, sample)
		}
	}
	return w
}

// recentPoints remembers hashes of a series' last points, to tell a point
// sent twice from a new one. It sees repeats among the last len points only.
type recentPoints struct {
	h    [8]uint64
	next uint8
}

// seen records h and reports whether it was there already.
func (r *recentPoints) seen(h uint64) bool {
	for _, x := range r.h {
		if x == h {
			return true
		}
	}
	r.h[r.next] = h
	r.next = (r.next + 1) % uint8(len(r.h))
	return false
}

// pointHash hashes what makes a point itself: name, version, time, value.
func pointHash(name, version string, t int64, v float64) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(name); i++ {
		h = (h ^ uint64(name[i])) * 1099511628211
	}
	h = (h ^ 0xff) * 1099511628211
	for i := 0; i < len(version); i++ {
		h = (h ^ uint64(version[i])) * 1099511628211
	}
	h ^= uint64(t) * 0x9e3779b97f4a7c15
	h ^= math.Float64bits(v) * 0xc2b2ae3d27d4eb4f
	return h | 1 // never 0, the empty entry
}
