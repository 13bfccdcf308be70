package engine

import (
	"cmp"
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
// not breached (or the window has been empty) for resolve_for.
func (r *rule) evaluate(s *series, t, step int64, now time.Time, e *Engine, out []Emission) []Emission {
	r.track(s, t, step, e)
	pts := s.in(t-r.window, t)
	if len(pts) == 0 {
		// No data: nothing is known to be wrong any more.
		s.value = 0
		return r.conditionFalse(s, t, now, out)
	}
	rd := r.agg(pts, &e.scratch)
	switch {
	case rd.n < float64(r.spec.MinPoints):
		return out // too few points to decide: stay as we are
	case !rd.ok:
		// No value (a ratio over no traffic): like no data.
		s.value = 0
		return r.conditionFalse(s, t, now, out)
	case !finite(rd.v):
		return out // a sum that overflowed: nothing a threshold can say
	}
	s.value = rd.v
	if r.cond(rd.v) {
		return r.conditionTrue(s, t, now, out)
	}
	return r.conditionFalse(s, t, now, out)
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
func (r *rule) track(s *series, t, step int64, e *Engine) {
	b := s.in(t-step, t)
	if len(b) == 0 {
		s.runStart = 0
		return
	}
	if !r.breaches(b, e) {
		s.runStart = 0
		return
	}
	if s.runStart == 0 {
		s.runStart = r.runStart(s, t-step, t, e)
	}
}

// runStart finds where a run that breaches in the step (from, to] began.
func (r *rule) runStart(s *series, from, to int64, e *Engine) int64 {
	i, _ := slices.BinarySearchFunc(s.pts, from+1, func(p sample, t int64) int { return cmp.Compare(p.t, t) })
	if r.perExport {
		return r.exportRunStart(s, i, to, e)
	}
	if !r.perPoint {
		return s.pts[i].t
	}
	for i < len(s.pts)-1 && !r.cond(s.pts[i].v) {
		i++
	}
	for i > 0 && r.cond(s.pts[i-1].v) {
		i--
	}
	return s.pts[i].t
}

// exportRunStart is runStart for points that come in exports: the step's
// first export that breaches on its own, reaching back over the breaching
// exports just before it; the step's first point if none breaches alone.
func (r *rule) exportRunStart(s *series, i int, to int64, e *Engine) int64 {
	j := i
	for j < len(s.pts) && s.pts[j].t <= to && !r.breaches(s.pts[j:exportEnd(s.pts, j)], e) {
		j = exportEnd(s.pts, j)
	}
	if j == len(s.pts) || s.pts[j].t > to {
		return s.pts[i].t
	}
	for j > 0 {
		k := exportStart(s.pts, j-1)
		if !r.breaches(s.pts[k:j], e) {
			break
		}
		j = k
	}
	return s.pts[j].t
}

// breaches reports whether pts' step aggregate breaches the threshold.
func (r *rule) breaches(pts []sample, e *Engine) bool {
	rd := r.stepAgg(pts, &e.scratch)
	v := rd.v * r.scale
	return rd.ok && finite(v) && r.cond(v)
}

// exportEnd is the index after the last sample of the time of pts[i];
// exportStart the index of the first.
func exportEnd(pts []sample, i int) int {
	t := pts[i].t
	for i < len(pts) && pts[i].t == t {
		i++
	}
	return i
}

func exportStart(pts []sample, i int) int {
	t := pts[i].t
	for i > 0 && pts[i-1].t == t {
		i--
	}
	return i
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
		em := r.resolved(s, now)
		em.at = t
		out = append(out, em)
		s.state, s.falseSince = inactive, 0
	}
	return out
}

// scope is the anomaly's service and model: the group's labels where the
// rule groups by them, otherwise the newest point's.
func (r *rule) scope(s *series) (service, model string) {
	service, model = s.service, s.model
	if v, ok := s.labels["service"]; ok {
		service = v
	}
	if v, ok := s.labels["model"]; ok {
		model = v
	}
	return service, model
}

func (r *rule) detected(s *series, now time.Time) Emission {
	since := strconv.FormatInt(s.since, 10)
	service, model := r.scope(s)
	d := events.AnomalyDetected{
		AnomalyID: r.idOf(s.fingerprint, s.since), Rule: r.spec.Name, Fingerprint: s.fingerprint,
		Metric: r.spec.Expression(), Value: s.value, Threshold: r.spec.Threshold, Severity: r.spec.Severity,
		Summary: r.render(s), Labels: s.labels, StartedUnixNano: s.since, DetectedUnixNano: now.UnixNano(),
		Service: service, Model: model, ModelVersion: s.version,
	}
	return Emission{ID: events.DerivedID("anomaly.detected", s.fingerprint, since), Data: d}
}

func (r *rule) resolved(s *series, now time.Time) Emission {
	since := strconv.FormatInt(s.since, 10)
	service, model := r.scope(s)
	d := events.AnomalyResolved{
		AnomalyID: r.idOf(s.fingerprint, s.since), Rule: r.spec.Name, Fingerprint: s.fingerprint,
		Metric: r.spec.Expression(), Value: s.value, ResolvedUnixNano: now.UnixNano(),
		Service: service, Model: model, ModelVersion: s.version,
	}
	return Emission{ID: events.DerivedID("anomaly.resolved", s.fingerprint, since), Data: d}
}

// render fills the summary template; a template that fails at run time
// (it parsed at load) still yields a useful summary.
func (r *rule) render(s *series) string {
	if r.spec.Summary == "" {
		return ""
	}
	var b strings.Builder
	data := rules.SummaryData{Rule: r.spec.Name, Metric: r.spec.Expression(), Severity: r.spec.Severity,
		Value: s.value, Threshold: r.spec.Threshold, Labels: s.labels}
	if err := r.summary.Execute(&b, data); err != nil {
		return r.spec.Name + ": " + strconv.FormatFloat(s.value, 'g', 4, 64) + " " + r.spec.Op + " " + strconv.FormatFloat(r.spec.Threshold, 'g', 4, 64)
	}
	return b.String()
}
