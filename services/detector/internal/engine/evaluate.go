package engine

import (
	"strconv"
	"strings"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/detector/internal/rules"
)

// evaluate moves one series through inactive -> pending -> firing ->
// inactive at evaluation time t, appending what it emits to out.
func (r *rule) evaluate(s *series, t int64, now time.Time, e *Engine, out []Emission) []Emission {
	pts := s.in(t-r.window, t)
	switch {
	case len(pts) == 0:
		// No data: nothing is known to be wrong any more.
		s.value = 0
		return r.conditionFalse(s, t, now, out)
	case len(pts) < r.spec.MinPoints:
		return out // too few points to decide: stay as we are
	}
	s.value, e.scratch = r.agg(pts, e.scratch)
	if r.cond(s.value) {
		return r.conditionTrue(s, t, now, out)
	}
	return r.conditionFalse(s, t, now, out)
}

func (r *rule) conditionTrue(s *series, t int64, now time.Time, out []Emission) []Emission {
	s.falseSince = 0
	if s.state == inactive {
		s.state, s.since = pending, t
	}
	if s.state == pending && t-s.since >= r.forNs {
		s.state = firing
		out = append(out, r.detected(s, now))
	}
	return out
}

func (r *rule) conditionFalse(s *series, t int64, now time.Time, out []Emission) []Emission {
	switch s.state {
	case pending:
		s.state = inactive
	case firing:
		if s.falseSince == 0 {
			s.falseSince = t
		}
		if t-s.falseSince >= r.resolveNs {
			out = append(out, r.resolved(s, now))
			s.state, s.falseSince = inactive, 0
		}
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
		Metric: r.spec.Metric, Value: s.value, Threshold: r.spec.Threshold, Severity: r.spec.Severity,
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
		Metric: r.spec.Metric, Value: s.value, ResolvedUnixNano: now.UnixNano(),
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
	data := rules.SummaryData{Rule: r.spec.Name, Metric: r.spec.Metric, Severity: r.spec.Severity,
		Value: s.value, Threshold: r.spec.Threshold, Labels: s.labels}
	if err := r.summary.Execute(&b, data); err != nil {
		return r.spec.Name + ": " + strconv.FormatFloat(s.value, 'g', 4, 64) + " " + r.spec.Op + " " + strconv.FormatFloat(r.spec.Threshold, 'g', 4, 64)
	}
	return b.String()
}
