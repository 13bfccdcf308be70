// Package engine evaluates detector rules over telemetry points, on event
// time, and says when an anomaly starts and ends. It is pure: no I/O, no
// clock of its own (the caller passes wall-clock time for detection stamps),
// and it is not safe for concurrent use.
//
// Windows live in memory only. A restarted detector starts them empty and
// rebuilds them from the telemetry that arrives next; since evaluation times
// are aligned to the step, replaying the same points yields the same anomaly
// ids, which the bus de-duplicates. Firing alerts are different: the caller
// keeps them (the anomaly.detected each one emitted) and hands them to
// Restore, so that an anomaly that was firing still resolves under its
// original id.
package engine

import (
	"fmt"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/detector/internal/rules"
)

// DefaultStep is the evaluation interval on event time.
const DefaultStep = time.Second

// maxCatchUp bounds how many skipped steps one Evaluate replays after a gap
// in the telemetry; beyond that, the windows are empty anyway.
const maxCatchUp = 600

// Emission is an event the engine wants published, with its stable id.
type Emission struct {
	ID   string
	Data events.Data
}

// Engine holds every rule's series and evaluates them as event time passes.
type Engine struct {
	rules    []*rule
	byMetric map[string][]*rule
	step     int64
	// watermark is the newest point time seen; lastTick the newest
	// evaluation time, a multiple of step (0 = never evaluated).
	watermark int64
	lastTick  int64
	// earliest is the oldest point seen before the first evaluation, so that
	// the first batch is evaluated from its start, as later ones are.
	earliest int64
	key      []byte
	scratch  []float64
}

// New compiles rules. step is the evaluation interval (DefaultStep if 0).
func New(rs []rules.Rule, step time.Duration) (*Engine, error) {
	if step <= 0 {
		step = DefaultStep
	}
	e := &Engine{byMetric: map[string][]*rule{}, step: int64(step)}
	for _, spec := range rs {
		r, err := compile(spec)
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", spec.Name, err)
		}
		e.rules = append(e.rules, r)
		e.byMetric[spec.Metric] = append(e.byMetric[spec.Metric], r)
	}
	return e, nil
}

// Observe adds points to the windows of the rules that match them and
// advances the watermark. Points stamped after notAfter (unix nanoseconds;
// the caller's clock plus the skew it tolerates) are left out and counted:
// one point from a clock running ahead would otherwise move the watermark
// into the future, and every real point after it would be too late.
func (e *Engine) Observe(points []events.Point, notAfter int64) (rejected int) {
	for i := range points {
		p := &points[i]
		if p.TimeUnixNano > notAfter {
			rejected++
			continue
		}
		e.observe(p)
	}
	return rejected
}

func (e *Engine) observe(p *events.Point) {
	if p.TimeUnixNano > e.watermark {
		e.watermark = p.TimeUnixNano
	}
	if e.lastTick == 0 && (e.earliest == 0 || p.TimeUnixNano < e.earliest) {
		e.earliest = p.TimeUnixNano
	}
	for _, r := range e.byMetric[p.Name] {
		if r.matches(p) && !e.tooLate(r, p.TimeUnixNano) {
			e.key = r.groupKey(e.key[:0], p)
			r.seriesFor(e.key, p).add(p)
		}
	}
}

// tooLate reports whether a point can no longer be in any window the engine
// will evaluate; keeping it would only hold memory. The watermark alone does
// not decide this: Evaluate also replays the steps between the last one and
// the watermark, whose windows reach further back.
func (e *Engine) tooLate(r *rule, t int64) bool {
	return e.lastTick > 0 && t <= e.lastTick-r.window
}

// Evaluate evaluates every series at each step boundary passed since the
// last call, up to the watermark, and returns the anomalies that started or
// ended, in order. Aligning evaluation to step boundaries makes the outcome
// independent of how telemetry was cut into batches. now stamps detection.
func (e *Engine) Evaluate(now time.Time) []Emission {
	end := e.watermark - e.watermark%e.step
	if end <= 0 || end <= e.lastTick {
		return nil
	}
	start := e.lastTick + e.step
	if e.lastTick == 0 {
		start = e.earliest - e.earliest%e.step
	}
	start = max(start, end-maxCatchUp*e.step)
	var out []Emission
	for t := start; t <= end; t += e.step {
		for _, r := range e.rules {
			for _, s := range r.series {
				out = r.evaluate(s, t, now, e, out)
			}
		}
	}
	e.lastTick = end
	e.evict()
	return out
}

// evict drops points that no future evaluation can see, and series that
// hold no points and no alert.
func (e *Engine) evict() {
	for _, r := range e.rules {
		for k, s := range r.series {
			s.evictBefore(e.lastTick - r.window)
			if len(s.pts) == 0 && s.state == inactive {
				delete(r.series, k)
			}
		}
	}
}

// Series is the number of live alert series.
func (e *Engine) Series() int {
	n := 0
	for _, r := range e.rules {
		n += len(r.series)
	}
	return n
}
