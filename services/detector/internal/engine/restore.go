package engine

import (
	"maps"
	"strconv"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/detector/internal/rules"
)

// Restore puts back, into a new engine before its first Observe, series that were firing when a previous engine stopped,
// each given by the anomaly.detected it emitted. A restored series is
// firing with its original start, so it emits no second anomaly.detected
// while its condition holds, and it resolves under the original anomaly id
// once its condition has been false (or its data absent) for resolve_for.
//
// An anomaly that no series of the current rules can hold (its rule is gone,
// or groups by other labels now) could never resolve, and would keep its
// incident open for good; Restore resolves it at once instead, stamped now.
func (e *Engine) Restore(firing []events.AnomalyDetected, now time.Time) []Emission {
	var out []Emission
	for _, a := range firing {
		r := e.ruleNamed(a.Rule)
		if r == nil || !r.holds(a) {
			out = append(out, orphanResolved(a, now))
			continue
		}
		r.restore(a)
	}
	return out
}

func (e *Engine) ruleNamed(name string) *rule {
	for _, r := range e.rules {
		if r.spec.Name == name {
			return r
		}
	}
	return nil
}

// holds reports whether a is an alert of one of r's series as the rule
// stands now: grouped by the same labels, under the same fingerprint and id.
func (r *rule) holds(a events.AnomalyDetected) bool {
	labels := r.groupLabels(a)
	if len(labels) != len(r.spec.GroupBy) {
		return false
	}
	for _, name := range r.spec.GroupBy {
		if _, ok := labels[name]; !ok {
			return false
		}
	}
	return fingerprint(a.Rule, labels) == a.Fingerprint && r.idOf(a.Fingerprint, a.StartedUnixNano) == a.AnomalyID
}

// groupLabels are the labels of a's series: its labels, less the versions
// a canary anomaly adds to them and the values an unseen_category one names.
func (r *rule) groupLabels(a events.AnomalyDetected) map[string]string {
	if r.kind != rules.DetectorCanary && r.kind != rules.DetectorUnseen {
		return a.Labels
	}
	labels := maps.Clone(a.Labels)
	delete(labels, canaryCandidateLabel)
	delete(labels, canaryBaselineLabel)
	delete(labels, unseenValuesLabel)
	return labels
}

// idOf is the anomaly id of a series' alert that started at since.
func (r *rule) idOf(fingerprint string, since int64) string {
	return events.DerivedID(fingerprint, strconv.FormatInt(since, 10))
}

// restore makes the firing series of a's group; holds(a) has checked that
// its labels are exactly the rule's group_by.
func (r *rule) restore(a events.AnomalyDetected) {
	labels := r.groupLabels(a)
	var key []byte
	for _, name := range r.spec.GroupBy {
		key = append(key, labels[name]...)
		key = append(key, 0xff)
	}
	values := make([]string, len(r.spec.GroupBy))
	for i, name := range r.spec.GroupBy {
		values[i] = labels[name]
	}
	s := &series{
		labels: values, state: firing, since: a.StartedUnixNano, value: a.Value,
		service: a.Service, model: a.Model, version: a.ModelVersion, noData: a.Detector == DetectorNoData,
	}
	if r.newBaseline != nil {
		s.base, s.frozen = r.newBaseline(), frozenBand(a)
	}
	if r.ml != nil {
		// Its windows start empty, from the alert's start.
		s.ml = r.newMLState(&events.Point{TimeUnixNano: a.StartedUnixNano})
	}
	r.series[string(key)] = s
}

// frozenBand is the band a baseline-relative alert fired on, from its
// evidence: the centre it expected, and the spread that puts its value
// `statistic` spreads away. A restarted detector's baseline is rebuilt from
// the telemetry that comes next, which, while the fault lasts, is the
// fault itself; judging the alert by the band it fired on keeps the fault
// from resolving it. Without that evidence the band is not ready, and the
// alert is judged by the rebuilt baseline once it is long enough.
func frozenBand(a events.AnomalyDetected) band {
	if a.Expected == nil || a.Statistic == nil || *a.Statistic == 0 {
		return band{}
	}
	scale := (a.Value - *a.Expected) / *a.Statistic
	if !finite(scale) || scale <= 0 {
		return band{}
	}
	return band{center: *a.Expected, scale: scale, ready: true}
}

// orphanResolved resolves an anomaly that no rule can evaluate any more.
func orphanResolved(a events.AnomalyDetected, now time.Time) Emission {
	d := events.AnomalyResolved{
		AnomalyID: a.AnomalyID, Rule: a.Rule, Fingerprint: a.Fingerprint, Metric: a.Metric, Value: a.Value,
		ResolvedUnixNano: now.UnixNano(), Service: a.Service, Model: a.Model, ModelVersion: a.ModelVersion,
		Reason: events.ResolvedRuleGone,
	}
	since := strconv.FormatInt(a.StartedUnixNano, 10)
	return Emission{ID: events.DerivedID("anomaly.resolved", a.Fingerprint, since), Data: d}
}
