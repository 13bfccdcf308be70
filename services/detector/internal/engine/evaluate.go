package engine

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/detector/internal/rules"
)

// evaluate moves one series through inactive -> firing -> inactive at
// evaluation time t, appending what it emits to out. An alert fires when
// the window's aggregate breaches and the breach has held in the data for
// longer than `for` (see track); it resolves once the window's aggregate has
// not breached for resolve_for. A window that has been empty for
// no_data_after takes the rule's no_data action (see noDataAt).
func (r *rule) evaluate(s *series, t, step int64, now time.Time, e *Engine, out []Emission) []Emission {
	if r.ml != nil {
		return r.evaluateML(s, t, now, e, out)
	}
	if s.base != nil {
		s.band = r.bandAt(s, t/step, e)
	}
	st := r.track(s, t, step, e)
	rd, has := r.aggregate(s, t-r.window, t, false, &e.scratch)
	if !has {
		s.value = 0
		return r.noDataAt(s, t, now, out)
	}
	if s.noData {
		// Data is back: the no-data alert is over, whatever the data says.
		out = r.resolve(s, t, now, events.ResolvedDataReturned, out)
	}
	switch {
	case rd.n < float64(r.spec.MinPoints):
		return out // too few points to decide: stay as we are
	case !rd.ok:
		// No value (a ratio over no traffic): nothing is wrong.
		s.value = 0
		return r.conditionFalse(s, t, now, out)
	case !finite(rd.v):
		return out // a sum that overflowed: nothing a threshold can say
	}
	s.value = rd.v
	breach := r.breach(s, rd.v)
	if s.base != nil {
		s.base.push(t/step, rd.v, breach, st, r)
		if !s.band.ready {
			return out // too short a baseline to decide: stay as we are
		}
	}
	if breach {
		return r.conditionTrue(s, t, now, out)
	}
	return r.conditionFalse(s, t, now, out)
}

// aggregate is the aggregate of s's points in (from, to], the window's or
// (step) the step's; has is false when there are none.
func (r *rule) aggregate(s *series, from, to int64, step bool, sc *scratch) (rd reading, has bool) {
	if s.win != nil {
		lo, hi := s.win.in(from, to)
		if lo == hi {
			return reading{}, false
		}
		if step {
			return r.stepCellAgg(s.win, lo, hi, sc), true
		}
		return r.cellAgg(s.win, lo, hi, sc), true
	}
	pts := s.in(from, to)
	if len(pts) == 0 {
		return reading{}, false
	}
	if step {
		return r.stepAgg(pts, sc), true
	}
	return r.agg(pts, sc), true
}

// bandAt is what step k of a baseline-relative series is judged against:
// the band a restored alert fired on while it lasts, else the baseline's.
func (r *rule) bandAt(s *series, k int64, e *Engine) band {
	if s.frozen.ready && s.state == firing {
		return s.frozen
	}
	return s.base.band(k, r, &e.scratch)
}

// breach reports whether v breaches: the threshold, or for a
// baseline-relative rule the z-score limit around the step's band.
func (r *rule) breach(s *series, v float64) bool {
	if s.base == nil {
		return r.cond(v)
	}
	return s.band.ready && r.zcond(s.band.z(v))
}

// noDataAt handles a step whose window is empty. Until the window has been
// empty for no_data_after the state holds (an empty window says nothing);
// then resolve resolves a firing alert, fire opens a no-data alert on a
// quiet series, and keep holds on.
func (r *rule) noDataAt(s *series, t int64, now time.Time, out []Emission) []Emission {
	last := s.newest
	if last == 0 {
		// A restored series that has had no points: as if its last point
		// were where its evaluation began.
		last = s.first
	}
	emptySince := last + r.window
	if t-emptySince < r.noDataNs {
		return out
	}
	switch {
	case r.noData == rules.NoDataResolve && s.state == firing:
		return r.resolve(s, t, now, events.ResolvedNoData, out)
	case r.noData == rules.NoDataFire && s.state == inactive && s.newest != 0:
		// The alert starts at the last point before the silence.
		s.state, s.since, s.noData, s.falseSince = firing, s.newest, true, 0
		em := r.detected(s, now)
		em.at = t
		return append(out, em)
	}
	return out
}

// waitsForNoData reports whether an inactive series without points is kept
// so that no_data: fire can still fire on it.
func (r *rule) waitsForNoData(s *series) bool {
	return r.noData == rules.NoDataFire && s.state == inactive && s.newest != 0 &&
		s.lastTick-(s.newest+r.window) < r.noDataNs
}

// track follows the run of breaching data that `for` is measured on. The
// step's points (t-step, t] breach when there is at least one and their
// aggregate breaches the threshold (a sum or count scaled from the step to
// the window, as if that step's pace had lasted the whole window; a ratio
// or a histogram quantile over the step's points as it is). A step
// that does not breach, or holds no points, ends the run. A run starts at
// its first point that breaches on its own (for a sum, count, rate, ratio
// or histogram: its first point), reaching back over the breaching points just before it, so
// that it is the time the data went bad, not the step that saw it.
func (r *rule) track(s *series, t, step int64, e *Engine) stepReading {
	rd, has := r.aggregate(s, t-step, t, true, &e.scratch)
	if !has {
		s.runStart = 0
		return stepReading{}
	}
	st := r.judgeStep(s, rd)
	if !st.anomalous {
		s.runStart = 0
		return st
	}
	if s.runStart == 0 {
		s.runStart = r.runStart(s, t-step, t, e)
	}
	return st
}

// runStart finds where a run that breaches in the step (from, to] began.
func (r *rule) runStart(s *series, from, to int64, e *Engine) int64 {
	if s.win != nil {
		return r.cellRunStart(s.win, from, to, e)
	}
	i, _ := slices.BinarySearchFunc(s.pts, from+1, func(p sample, t int64) int { return cmp.Compare(p.t, t) })
	if s.base != nil {
		// A baseline's band is the spread of window aggregates: a point or
		// export is noisier, and would reach back over healthy data.
		return s.pts[i].t
	}
	if !r.perPoint {
		return s.pts[i].t
	}
	for i < len(s.pts)-1 && !r.breach(s, s.pts[i].v) {
		i++
	}
	for i > 0 && r.breach(s, s.pts[i-1].v) {
		i--
	}
	return s.pts[i].t
}

// cellRunStart is runStart over cells. A step cell's run starts at the
// step's first point; an export cell's (a threshold rule over exports) at
// the step's first export that breaches on its own, reaching back over the
// breaching exports just before it, or the step's first export if none
// breaches alone.
func (r *rule) cellRunStart(c *cells, from, to int64, e *Engine) int64 {
	lo, hi := c.in(from, to)
	if c.step != 0 || r.newBaseline != nil {
		return c.first(lo)
	}
	j := lo
	for j < hi && !r.cellBreaches(c, j, e) {
		j++
	}
	if j == hi {
		return c.keys[lo]
	}
	for j > 0 && r.cellBreaches(c, j-1, e) {
		j--
	}
	return c.keys[j]
}

// cellBreaches reports whether export cell i breaches on its own, as a
// threshold rule judges a step.
func (r *rule) cellBreaches(c *cells, i int, e *Engine) bool {
	rd := r.stepCellAgg(c, i, i+1, &e.scratch)
	v := rd.v * r.scale
	return rd.ok && finite(v) && r.cond(v)
}

// judgeStep is a step's aggregate, scaled to the window's terms, and
// whether it breaches.
func (r *rule) judgeStep(s *series, rd reading) stepReading {
	v := rd.v * r.scale
	if !rd.ok || !finite(v) {
		return stepReading{}
	}
	if s.base == nil {
		return stepReading{v: v, ok: true, anomalous: r.cond(v)}
	}
	return stepReading{v: v, ok: true, anomalous: s.band.ready && r.zcond(s.band.z(v))}
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func (r *rule) conditionTrue(s *series, t int64, now time.Time, out []Emission) []Emission {
	s.falseSince = 0
	if s.state == inactive && s.runStart != 0 && (r.forNs == 0 || t-s.runStart > r.forNs) {
		s.state, s.since = firing, s.runStart
		em := r.detected(s, now)
		em.at = t
		out = append(out, em)
	}
	return out
}

func (r *rule) conditionFalse(s *series, t int64, now time.Time, out []Emission) []Emission {
	if s.state != firing {
		return out
	}
	if s.falseSince == 0 {
		s.falseSince = t
	}
	if t-s.falseSince >= r.resolveNs {
		out = r.resolve(s, t, now, "", out)
	}
	return out
}

// resolve ends the firing alert at t, saying why unless its condition
// simply stopped holding (reason "").
func (r *rule) resolve(s *series, t int64, now time.Time, reason string, out []Emission) []Emission {
	em := r.resolved(s, now, reason)
	em.at = t
	s.state, s.falseSince, s.noData, s.frozen = inactive, 0, false, band{}
	return append(out, em)
}

// scope is the anomaly's service and model: the group's labels where the
// rule groups by them, otherwise the newest point's.
func (r *rule) scope(s *series) (service, model string) {
	service, model = s.service, s.model
	for i, name := range r.spec.GroupBy {
		switch name {
		case "service":
			service = s.labels[i]
		case "model":
			model = s.labels[i]
		}
	}
	return service, model
}

// labelsOf is s's group labels by name: a new map, for an event.
func (r *rule) labelsOf(s *series) map[string]string {
	labels := make(map[string]string, len(s.labels))
	for i, name := range r.spec.GroupBy {
		labels[name] = s.labels[i]
	}
	return labels
}

func (r *rule) detected(s *series, now time.Time) Emission {
	since := strconv.FormatInt(s.since, 10)
	service, model := r.scope(s)
	labels := r.labelsOf(s)
	fp := fingerprint(r.spec.Name, labels)
	d := events.AnomalyDetected{
		AnomalyID: r.idOf(fp, s.since), Rule: r.spec.Name, Fingerprint: fp,
		Metric: r.spec.Expression(), Value: s.value, Threshold: r.spec.Limit(), Severity: r.spec.Severity,
		Labels: labels, StartedUnixNano: s.since, DetectedUnixNano: now.UnixNano(),
		Service: service, Model: model, ModelVersion: s.version,
	}
	r.evidence(s, &d)
	d.Summary = r.render(s, d, labels)
	return Emission{ID: events.DerivedID("anomaly.detected", fp, since), Data: d}
}

// evidence fills what the anomaly was judged on.
func (r *rule) evidence(s *series, d *events.AnomalyDetected) {
	d.Detector, d.WindowSeconds = r.kind, r.spec.Window.Seconds()
	switch {
	case s.noData:
		d.Detector = DetectorNoData
	case s.ml != nil:
		r.mlEvidence(s, d)
	case s.base != nil:
		center, z := s.band.center, s.band.z(s.value)
		d.Expected, d.Statistic, d.BaselineSeconds = &center, &z, r.baselineSeconds
	default:
		threshold := r.spec.Threshold
		d.Expected = &threshold
	}
}

// DetectorNoData is the evidence's detector of an alert on a series whose
// data stopped (no_data: fire).
const DetectorNoData = "no_data"

func (r *rule) resolved(s *series, now time.Time, reason string) Emission {
	since := strconv.FormatInt(s.since, 10)
	service, model := r.scope(s)
	fp := fingerprint(r.spec.Name, r.labelsOf(s))
	d := events.AnomalyResolved{
		AnomalyID: r.idOf(fp, s.since), Rule: r.spec.Name, Fingerprint: fp,
		Metric: r.spec.Expression(), Value: s.value, ResolvedUnixNano: now.UnixNano(),
		Service: service, Model: model, ModelVersion: s.version, Reason: reason,
	}
	return Emission{ID: events.DerivedID("anomaly.resolved", fp, since), Data: d}
}

// render fills the summary template; a template that fails at run time
// (it parsed at load) still yields a useful summary. A no-data alert says
// so instead: the rule's summary speaks of a value there is none of.
// labels are the series' group labels.
func (r *rule) render(s *series, d events.AnomalyDetected, labels map[string]string) string {
	if s.noData {
		return fmt.Sprintf("no data for %v: %s%s", r.spec.Window+time.Duration(r.noDataNs), r.spec.Name, labelList(labels))
	}
	if r.spec.Summary == "" {
		return ""
	}
	var b strings.Builder
	data := rules.SummaryData{Rule: r.spec.Name, Metric: r.spec.Expression(), Severity: r.spec.Severity,
		Value: s.value, Threshold: d.Threshold, Labels: d.Labels}
	if d.Expected != nil {
		data.Expected = *d.Expected
	}
	if d.Statistic != nil {
		data.Statistic = *d.Statistic
	}
	if d.PValue != nil {
		data.PValue = *d.PValue
	}
	if err := r.summary.Execute(&b, data); err != nil {
		return r.spec.Name + ": " + strconv.FormatFloat(s.value, 'g', 4, 64) + " " + r.spec.Op + " " + strconv.FormatFloat(d.Threshold, 'g', 4, 64)
	}
	return b.String()
}

// labelList writes labels as {k=v, ...}, sorted by key.
func labelList(labels map[string]string) string {
	keys := slices.Sorted(maps.Keys(labels))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + labels[k]
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
