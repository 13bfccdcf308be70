// Package engine evaluates detector rules over telemetry points, on event
// time, and says when an anomaly starts and ends. It is pure: no I/O, no
// clock of its own (the caller passes wall-clock time for detection stamps),
// and it is not safe for concurrent use.
//
// Event time is kept per series, never globally: each series is evaluated
// up to its own newest point, so a point stamped ahead on one series cannot
// make another series' points late. A series that gets no more data must
// still resolve, so it is also evaluated up to the stream's time less its
// window: by then its window is empty. The stream's time is the quorum time
// (see quorum) while telemetry flows; once it stops altogether, it moves on
// with the caller's wall clock from the last quorum time (see streamTime),
// so that a firing alert still resolves, or a no_data: fire rule fires,
// when every source has gone quiet.
//
// Windows and baselines (see baseline.go) live in memory only. A restarted
// detector starts them empty; its caller replays the telemetry it had
// evaluated (the detector's warm-up) before the live stream, and what that
// does not cover fills from the telemetry that arrives next: a
// baseline-relative rule fires nothing until its baseline holds
// min_baseline_points steps. Since evaluation times
// are aligned to the step and an anomaly's start is the time of a point,
// replaying the same points yields the same anomaly ids, which the bus
// de-duplicates. Firing alerts are different: the caller keeps them (the
// anomaly.detected each one emitted) and hands them to Restore, so that an
// anomaly that was firing still resolves under its original id (judged, for
// a baseline-relative rule, by the band its evidence records).
package engine

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/detector/internal/rules"
)

// DefaultStep is the evaluation interval on event time. It is also the
// resolution at which `for` is checked (see rule.track).
const DefaultStep = time.Second

// maxCatchUp bounds how many skipped steps one Evaluate replays after a gap
// in the telemetry; beyond that, the windows are empty anyway.
const maxCatchUp = 600

// Emission is an event the engine wants published, with its stable id.
type Emission struct {
	ID   string
	Data events.Data
	// at is the evaluation time that emitted it, to order a batch's
	// emissions across series.
	at int64
}

// Rejected counts the points Observe left out, by reason.
type Rejected struct {
	// Future points were stamped after the caller's limit.
	Future int
	// TooOld points were stamped before the caller's limit: backfill.
	TooOld int
	// NotFinite points had a NaN or infinite value.
	NotFinite int
	// BadBucket points were histogram buckets whose le is not a number.
	BadBucket int
	// Late points came after every window that could hold them had been
	// evaluated: for an ML rule, its window was judged already (the point
	// is out of order by more than the grace); for the others, the point
	// is older than a window back from the series' last evaluation.
	Late int
	// Duplicate points repeated one of the last few points of an ML rule's
	// series: same name, version, time and value.
	Duplicate int
	// OverLimit points would have started a series past the engine's
	// series limit (see LimitSeries).
	OverLimit int
}

// Total is the number of points rejected for any reason.
func (r Rejected) Total() int {
	return r.Future + r.TooOld + r.NotFinite + r.BadBucket + r.Late + r.Duplicate + r.OverLimit
}

// Add adds up two counts.
func (r Rejected) Add(o Rejected) Rejected {
	return Rejected{Future: r.Future + o.Future, TooOld: r.TooOld + o.TooOld,
		NotFinite: r.NotFinite + o.NotFinite, BadBucket: r.BadBucket + o.BadBucket,
		Late: r.Late + o.Late, Duplicate: r.Duplicate + o.Duplicate, OverLimit: r.OverLimit + o.OverLimit}
}

// Engine holds every rule's series and evaluates them as event time passes.
type Engine struct {
	rules    []*rule
	byMetric map[string][]*rule
	step     int64
	// sources is the newest point time per source (the point's service),
	// for the quorum time.
	sources map[string]int64
	// earliest is the oldest point seen before the first Evaluate: where a
	// restored series, which has no points of its own, starts.
	earliest  int64
	evaluated bool
	key       []byte
	scratch   scratch
	ticks     []int64
	// fed is true when Observe took points since the last Evaluate;
	// fedAt is the wall-clock time of the last Evaluate after points came,
	// and fedQuorum the quorum time then (see streamTime).
	fed       bool
	fedAt     time.Time
	fedQuorum int64
	// guessed is true while the stream time is the wall clock's guess, the
	// engine having had no point yet (see streamTime).
	guessed bool
	// maxSeries bounds the series held (0: no bound); overLimit collects
	// the rules that refused a series since OverLimitRules last read it.
	maxSeries int
	overLimit []string
}

// OverLimitRules returns, sorted, the rules that refused a new series at
// the series limit since the last call, and forgets them.
func (e *Engine) OverLimitRules() []string {
	out := slices.Clone(e.overLimit)
	slices.Sort(out)
	e.overLimit = e.overLimit[:0]
	return out
}

// LimitSeries bounds the alert series the engine holds across all rules
// (0: no bound). A point that would start a series past the bound is left
// out and counted as OverLimit, so that a label with unbounded values (a
// request id in group_by) costs a refused series, not the detector's
// memory. Series already held, and series restored after a restart, are
// kept.
func (e *Engine) LimitSeries(n int) { e.maxSeries = n }

// New compiles rules. step is the evaluation interval (DefaultStep if 0).
func New(rs []rules.Rule, step time.Duration) (*Engine, error) {
	if step <= 0 {
		step = DefaultStep
	}
	e := &Engine{byMetric: map[string][]*rule{}, step: int64(step), sources: map[string]int64{}}
	for _, spec := range rs {
		r, err := compile(spec, step)
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", spec.Name, err)
		}
		e.rules = append(e.rules, r)
		for _, name := range r.inputs {
			e.byMetric[name] = append(e.byMetric[name], r)
		}
	}
	return e, nil
}

// Observe adds points to the windows of the rules that match them. Points
// stamped after notAfter (unix nanoseconds; the caller's clock plus the
// small skew it tolerates) are left out and counted, as are points stamped
// before notBefore (backfill of recorded data, which must not raise live
// anomalies), points whose value is NaN or infinite (+Inf would breach any
// ">" rule, and one NaN makes a whole window's average NaN), and histogram
// buckets whose bound is not a number.
func (e *Engine) Observe(points []events.Point, notBefore, notAfter int64) Rejected {
	if e.guessed && len(points) > 0 {
		e.forgetGuess()
	}
	var rej Rejected
	for i := range points {
		p := &points[i]
		switch {
		case p.TimeUnixNano > notAfter:
			rej.Future++
		case p.TimeUnixNano < notBefore:
			rej.TooOld++
		case math.IsNaN(p.Value) || math.IsInf(p.Value, 0):
			rej.NotFinite++
		default:
			switch e.observe(p) {
			case badBucket:
				rej.BadBucket++
			case late:
				rej.Late++
			case duplicate:
				rej.Duplicate++
			case overLimit:
				rej.OverLimit++
			}
		}
	}
	return rej
}

// observe adds p to its rules' series and says what became of it: taken,
// unless a rule found it late, an ML rule a duplicate, or a histogram rule
// could not use it (a bucket without a numeric bound). A point that every
// rule took, or that none matched, is taken; otherwise the first
// rule's reason counts, so that a point is counted once.
func (e *Engine) observe(p *events.Point) pointFate {
	if !e.evaluated && (e.earliest == 0 || p.TimeUnixNano < e.earliest) {
		e.earliest = p.TimeUnixNano
	}
	e.fed = true
	if p.TimeUnixNano > e.sources[p.Service] {
		e.sources[p.Service] = p.TimeUnixNano
	}
	fate := taken
	for _, r := range e.byMetric[p.Name] {
		if !r.matches(p) {
			continue
		}
		var k float64
		if r.keyOf != nil {
			var ok bool
			if k, ok = r.keyOf(p); !ok {
				fate = cmp.Or(fate, badBucket)
				continue
			}
		}
		e.key = r.groupKey(e.key[:0], p)
		if e.maxSeries > 0 && !r.hasSeries(e.key) && e.Series() >= e.maxSeries {
			if !slices.Contains(e.overLimit, r.spec.Name) {
				e.overLimit = append(e.overLimit, r.spec.Name)
			}
			fate = cmp.Or(fate, overLimit)
			continue
		}
		s := r.seriesFor(e.key, p)
		switch {
		case r.ml != nil:
			if f := r.observeML(s, p); f == late || f == duplicate {
				fate = cmp.Or(fate, f)
			}
		case s.tooLate(r, p.TimeUnixNano):
			fate = cmp.Or(fate, late)
		default:
			s.add(r, p, k)
		}
	}
	return fate
}

// quorum is the newest time that at least half of the sources have
// reached: the upper median of their newest points. With three sources or
// more, one source stamped ahead (or stalled) does not move it; with two,
// the caller's future limit bounds how far ahead it can be.
func (e *Engine) quorum() int64 {
	if len(e.sources) == 0 {
		return 0
	}
	ts := make([]int64, 0, len(e.sources))
	for _, t := range e.sources {
		ts = append(ts, t)
	}
	slices.Sort(ts)
	return ts[len(ts)/2]
}

// Evaluate evaluates each series at every step boundary passed since its
// last evaluation, up to its own event time (or, for a series that has gone
// quiet, the quorum time less its window), and returns the anomalies that
// started or ended, in order of evaluation time. Aligning evaluation to step
// boundaries makes the outcome independent of how telemetry was cut into
// batches. now stamps detection.
func (e *Engine) Evaluate(now time.Time) []Emission {
	q := e.quorum()
	e.evaluated = e.evaluated || q > 0
	st := e.streamTime(q, now)
	var out []Emission
	for _, r := range e.rules {
		for _, s := range r.series {
			out = e.evaluateSeries(r, s, st, now, out)
		}
	}
	slices.SortStableFunc(out, func(a, b Emission) int { return cmp.Compare(a.at, b.at) })
	e.evict(q)
	return out
}

// streamTime is the event time the stream has reached: the quorum time,
// moved on by the wall-clock time since points last came, so that the
// evaluation of quiet series goes on when every source stops. While points
// flow it is the quorum time. An engine that has had no points at all
// (restored alerts only) takes the wall clock itself, the best guess of
// the event time of live telemetry.
func (e *Engine) streamTime(q int64, now time.Time) int64 {
	if e.fed || e.fedAt.IsZero() {
		e.fed, e.fedAt, e.fedQuorum, e.guessed = false, now, q, q == 0
		if q == 0 {
			e.fedQuorum = now.UnixNano()
		}
	}
	return max(q, e.fedQuorum+int64(now.Sub(e.fedAt)))
}

// forgetGuess drops what the wall clock's guess of the stream time did,
// once points tell the real one (a replayed backlog is stamped in the
// past): restored series evaluated on the guess start again from the
// first points.
func (e *Engine) forgetGuess() {
	e.guessed = false
	for _, r := range e.rules {
		for _, s := range r.series {
			if s.newest == 0 {
				s.first, s.lastTick, s.falseSince = 0, 0, 0
			}
		}
	}
}

func (e *Engine) evaluateSeries(r *rule, s *series, st int64, now time.Time, out []Emission) []Emission {
	end := max(s.newest, st-r.window)
	end -= end % e.step
	if end <= 0 || end <= s.lastTick {
		return out
	}
	start := s.lastTick + e.step
	if s.lastTick == 0 {
		if s.first == 0 {
			// A restored series, with no points yet: from the oldest point
			// of the batch, or from now when there has been none.
			s.first = e.earliest
			if s.first == 0 {
				s.first = end
			}
		}
		start = s.first - s.first%e.step
	}
	if r.kind == rules.DetectorQuality {
		e.ticks = r.qualityTicks(start, end, e.ticks[:0])
		for _, t := range e.ticks {
			out = r.evaluate(s, t, e.step, now, e, out)
		}
		s.lastTick = end
		return out
	}
	start = max(start, end-maxCatchUp*e.step)
	for t := start; t <= end; t += e.step {
		out = r.evaluate(s, t, e.step, now, e, out)
	}
	s.lastTick = end
	return out
}

// evict drops points that no future evaluation can see, series that hold
// no points and no alert, and sources silent for longer than any catch-up.
func (e *Engine) evict(q int64) {
	for _, r := range e.rules {
		for k, s := range r.series {
			s.evictBefore(s.lastTick - r.window)
			empty := s.empty()
			if r.ml != nil {
				empty = r.mlHoldsNothing(s)
			}
			if empty && s.state == inactive && !r.waitsForNoData(s) {
				delete(r.series, k)
			}
		}
	}
	for src, t := range e.sources {
		if t < q-maxCatchUp*e.step {
			delete(e.sources, src)
		}
	}
}

// JudgeEvery is how far event time may move between two Evaluate calls
// without an ML rule losing a window it never judged: its shortest window
// (a series' ring holds few windows, and a point of a window past the ring
// takes the slot of one not judged yet). 0 when no rule needs it: the
// others walk every step they skipped.
func (e *Engine) JudgeEvery() time.Duration {
	var every int64
	for _, r := range e.rules {
		if r.ml != nil && (every == 0 || r.ml.width < every) {
			every = r.ml.width
		}
	}
	return time.Duration(every)
}

// Series is the number of live alert series.
func (e *Engine) Series() int {
	n := 0
	for _, r := range e.rules {
		n += len(r.series)
	}
	return n
}
