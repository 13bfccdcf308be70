package otlp

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"sort"
	"sync"
	"time"
)

// series keeps, per metric series, when it was last seen (for the
// cardinality limits) and its latest cumulative point (for rates and
// histogram deltas). It is
// bounded: idle series are forgotten, a service has at most
// MaxSeriesPerService series and the receiver at most MaxTrackedSeries;
// points of further series are rejected.
type series struct {
	mu        sync.Mutex
	limit     int
	maxTrack  int
	idle      time.Duration
	entries   map[uint64]*seriesEntry
	perSvc    map[string]int
	lastSweep time.Time
}

// seriesEntry is one series' state. t and v are its latest cumulative
// point; pt and pv the one before, kept so that a retried point maps to
// the same rate again. hist is a cumulative histogram's state, nil for
// other series.
type seriesEntry struct {
	service  string
	seen     time.Time
	tracked  bool
	start, t int64
	v        float64
	pt       int64
	pv       float64
	hist     *histState
}

// errCardinality says a service has reached its series limit.
type errCardinality struct {
	service string
	limit   int
}

func (e errCardinality) Error() string {
	if e.service == "" {
		return fmt.Sprintf("the receiver holds its limit of %d series over all services (MaxTrackedSeries); new series are rejected until idle ones expire", e.limit)
	}
	return fmt.Sprintf("service %q has reached the limit of %d series per service (MaxSeriesPerService); new series are rejected", e.service, e.limit)
}

func newSeries(limit, maxTrack int, idle time.Duration) *series {
	return &series{limit: limit, maxTrack: maxTrack, idle: idle, entries: map[uint64]*seriesEntry{}, perSvc: map[string]int{}}
}

// seriesKey hashes a series' identity: its name, scope and attributes.
func seriesKey(name string, s scoped) uint64 {
	h := fnv.New64a()
	for _, p := range []string{name, s.service, s.model, s.version} {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	keys := make([]string, 0, len(s.attrs))
	for k := range s.attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write([]byte(s.attrs[k]))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// touch marks a series seen at now, admitting it when its service is under
// the limit.
func (s *series) touch(key uint64, service string, now time.Time) (*seriesEntry, error) {
	s.sweep(now)
	if e, ok := s.entries[key]; ok {
		e.seen = now
		return e, nil
	}
	if s.perSvc[service] >= s.limit {
		return nil, errCardinality{service, s.limit}
	}
	if len(s.entries) >= s.maxTrack {
		return nil, errCardinality{"", s.maxTrack}
	}
	e := &seriesEntry{service: service, seen: now}
	s.entries[key] = e
	s.perSvc[service]++
	return e, nil
}

// sweep forgets series idle for longer than s.idle, at most once per
// quarter of it.
func (s *series) sweep(now time.Time) {
	if now.Sub(s.lastSweep) < s.idle/4 {
		return
	}
	s.lastSweep = now
	for k, e := range s.entries {
		if now.Sub(e.seen) > s.idle {
			delete(s.entries, k)
			s.perSvc[e.service]--
			if s.perSvc[e.service] <= 0 {
				delete(s.perSvc, e.service)
			}
		}
	}
}

// admit checks the cardinality limit for a series that yields no rate.
func (s *series) admit(key uint64, service string, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.touch(key, service, now)
	return err
}

// rateResult is what a cumulative point yields: a rate, when ok.
type rateResult struct {
	rate float64
	ok   bool
}

// cumulative records a cumulative monotonic point and returns the rate per
// second since the series' previous point.
func (s *series) cumulative(key uint64, service string, now time.Time, start, t int64, v float64) (rateResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.touch(key, service, now)
	if err != nil {
		return rateResult{}, err
	}
	if !e.tracked {
		e.tracked, e.start, e.t, e.v, e.pt = true, start, t, v, 0
		return rateResult{}, nil
	}
	switch {
	case t == e.t && v == e.v && start == e.start:
		// A retry of the latest point: the same rate as the first time.
		if e.pt == 0 || t <= e.pt {
			return rateResult{}, nil
		}
		return rateResult{rate: (v - e.pv) / float64(t-e.pt) * 1e9, ok: true}, nil
	case t <= e.t:
		// Out of order: no rate, and the newer state stays.
		return rateResult{}, nil
	case start != e.start || v < e.v:
		e.start, e.t, e.v, e.pt = start, t, v, 0
		return rateResult{}, nil
	}
	r := (v - e.v) / float64(t-e.t) * 1e9
	e.pt, e.pv, e.t, e.v = e.t, e.v, t, v
	return rateResult{rate: r, ok: true}, nil
}

// histPoint is a histogram data point's values: its bucket counts as OTLP
// sends them (per bucket, not le-cumulative), count and sum. layout is a
// hash of the bucket bounds, which must match for two points to subtract.
type histPoint struct {
	start, t int64
	layout   uint64
	buckets  []uint64
	count    uint64
	sum      float64
	hasSum   bool
}

// histState is a cumulative histogram series' latest point and the delta
// it yielded (when emitted), kept so that a retry of the latest point
// yields the same delta again.
type histState struct {
	last    histPoint
	out     histPoint
	emitted bool
}

// cumulativeHistogram records a cumulative histogram point and returns its
// delta over the series' previous point; ok is false when the point yields
// nothing (it only seeds the state, or it is out of order). The first point
// of a series, and the first after a reset, is its own delta when its
// interval is at most firstMax.
func (s *series) cumulativeHistogram(key uint64, service string, now time.Time, p histPoint, firstMax time.Duration) (delta histPoint, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.touch(key, service, now)
	if err != nil {
		return histPoint{}, false, err
	}
	h := e.hist
	switch {
	case h == nil:
		h = &histState{}
		e.hist = h
		h.startOver(p, firstMax)
	case p.same(h.last):
		// A retry of the latest point: the same delta as the first time.
	case p.t <= h.last.t:
		// Out of order: nothing, and the newer state stays.
		return histPoint{}, false, nil
	case p.resets(h.last):
		h.startOver(p, firstMax)
	default:
		h.out, h.emitted, h.last = p.minus(h.last), true, p
	}
	return h.out, h.emitted, nil
}

// startOver makes p the series' first point: emitted whole when it covers
// at most firstMax since its start, otherwise only kept as the base.
func (h *histState) startOver(p histPoint, firstMax time.Duration) {
	h.last = p
	h.emitted = p.start > 0 && p.t >= p.start && p.t-p.start <= firstMax.Nanoseconds()
	h.out = histPoint{}
	if h.emitted {
		h.out = p
	}
}

// same says p repeats q.
func (p histPoint) same(q histPoint) bool {
	return p.t == q.t && p.start == q.start && p.layout == q.layout && p.count == q.count &&
		p.hasSum == q.hasSum && p.sum == q.sum && slices.Equal(p.buckets, q.buckets)
}

// resets says p does not continue q: the start time or the bucket layout
// changed, or a count went down.
func (p histPoint) resets(q histPoint) bool {
	if p.start != q.start || p.layout != q.layout || p.count < q.count || len(p.buckets) != len(q.buckets) {
		return true
	}
	for i, c := range p.buckets {
		if c < q.buckets[i] {
			return true
		}
	}
	return false
}

// minus is p's increase over q, which it continues.
func (p histPoint) minus(q histPoint) histPoint {
	d := histPoint{start: q.t, t: p.t, layout: p.layout, count: p.count - q.count, buckets: make([]uint64, len(p.buckets))}
	for i, c := range p.buckets {
		d.buckets[i] = c - q.buckets[i]
	}
	if p.hasSum && q.hasSum {
		d.sum, d.hasSum = p.sum-q.sum, true
	}
	return d
}

// boundsLayout hashes a histogram's bucket bounds.
func boundsLayout(bounds []float64) uint64 {
	h := fnv.New64a()
	var b [8]byte
	for _, f := range bounds {
		binary.LittleEndian.PutUint64(b[:], math.Float64bits(f))
		h.Write(b[:])
	}
	return h.Sum64()
}
