package engine

import (
	"slices"
	"sort"

	"github.com/medic-sre/medic/pkg/events"
)

// sample is one point of a series window. k says what the point is for
// the rules that read two kinds of points (see rule.keyOf): which side of a
// ratio, or which histogram bucket; it is 0 for every other rule.
type sample struct {
	t int64
	v float64
	k float64
}

type state uint8

const (
	inactive state = iota
	firing
)

// series is one alert series: the time-ordered window of a rule's points
// for one group, and its alert state.
type series struct {
	// labels are the values of the rule's group_by labels, in its order:
	// a map and the fingerprint are made for the events only (see
	// rule.labelsOf), as a series holds them for nothing else.
	labels []string
	// pts is the window's points, or win its cells when the rule keeps
	// cells (see cells.go; nil until the first point).
	pts []sample
	win *cells

	// The newest point's scope, for the anomaly's service, model and version.
	newest                  int64
	service, model, version string

	// first is the oldest point seen before the first evaluation, so that
	// a series is evaluated from its start; lastTick is its newest
	// evaluation time, a multiple of the step (0 = never evaluated).
	first, lastTick int64

	// runStart is the time of the first point of the current run of
	// breaching steps (0 = the last step did not breach): see rule.track.
	runStart int64

	state state
	// since is when the firing alert's run started; falseSince when the
	// condition became false while firing (0 = it has not).
	since, falseSince int64
	value             float64
	// noData is true while the firing alert is a no-data one.
	noData bool

	// base is a baseline-relative rule's memory of the series' past (nil
	// for a threshold rule), and band what the current step is judged
	// against. frozen, when ready, is the band a restored alert fired on:
	// it judges the series until that alert resolves.
	base   baseline
	band   band
	frozen band

	// ml is an ML rule's windows (nil for the others).
	ml *mlState
}

// tooLate reports whether a point can no longer be in any window this
// series will evaluate; keeping it would only hold memory.
func (s *series) tooLate(r *rule, t int64) bool {
	return s.lastTick > 0 && t <= s.lastTick-r.window
}

// add inserts a point in time order. Points mostly arrive in order, so the
// common case is an append.
func (s *series) add(r *rule, p *events.Point, k float64) {
	if r.cellKind != rawPoints {
		if s.win == nil {
			s.win = r.newCells()
		}
		s.win.add(r, p.TimeUnixNano, p.Value, k)
	} else {
		s.addPoint(sample{t: p.TimeUnixNano, v: p.Value, k: k})
	}
	if s.lastTick == 0 && (s.first == 0 || p.TimeUnixNano < s.first) {
		s.first = p.TimeUnixNano
	}
	if p.TimeUnixNano >= s.newest {
		s.newest, s.service, s.model, s.version = p.TimeUnixNano, p.Service, p.Model, p.ModelVersion
	}
}

func (s *series) addPoint(smp sample) {
	if n := len(s.pts); n == 0 || s.pts[n-1].t <= smp.t {
		s.pts = append(s.pts, smp)
	} else {
		i := sort.Search(n, func(i int) bool { return s.pts[i].t > smp.t })
		s.pts = slices.Insert(s.pts, i, smp)
	}
}

// empty reports whether the window holds nothing.
func (s *series) empty() bool {
	if s.win != nil {
		return len(s.win.keys) == 0
	}
	return len(s.pts) == 0
}

// in returns the points of the window (from, to].
func (s *series) in(from, to int64) []sample {
	lo := sort.Search(len(s.pts), func(i int) bool { return s.pts[i].t > from })
	hi := len(s.pts)
	if hi > 0 && s.pts[hi-1].t > to {
		hi = lo + sort.Search(hi-lo, func(i int) bool { return s.pts[lo+i].t > to })
	}
	return s.pts[lo:hi]
}

// evictBefore drops points at or before t. Re-slicing leaves the dropped
// prefix to be freed when append next reallocates.
func (s *series) evictBefore(t int64) {
	if s.win != nil {
		s.win.evictBefore(t)
		return
	}
	i := sort.Search(len(s.pts), func(i int) bool { return s.pts[i].t > t })
	if i == len(s.pts) {
		s.pts = s.pts[:0]
		return
	}
	s.pts = s.pts[i:]
}
