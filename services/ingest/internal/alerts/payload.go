package alerts

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/medic-sre/medic/pkg/events"
)

// Payload is a webhook body: Alertmanager's (version "4") and Grafana
// alerting's, which has the same shape plus values per alert.
type Payload struct {
	Version  string  `json:"version"`
	GroupKey string  `json:"groupKey"`
	Status   string  `json:"status"`
	Receiver string  `json:"receiver"`
	Alerts   []Alert `json:"alerts"`
}

// Alert is one alert of a payload.
type Alert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
	// Values (Grafana) are the rule's query and expression results by ref id.
	Values map[string]float64 `json:"values"`
	// ValueString (Grafana before values) reads "[ metric='' labels={} value=14.2 ]".
	ValueString string `json:"valueString"`
}

// Alert statuses.
const (
	StatusFiring   = "firing"
	StatusResolved = "resolved"
)

// The labels that name the scope of an alert, first found wins.
var (
	serviceLabels = []string{"service", "job", "service_name"}
	modelLabels   = []string{"model", "ml_model_name"}
	versionLabels = []string{"model_version", "version", "ml_model_version"}
)

// Emission is one event an alert becomes, with its derived id.
type Emission struct {
	ID   string
	Data events.Data
}

// Map turns one alert into its event: anomaly.detected when firing,
// anomaly.resolved when resolved. now is when the notification arrived.
//
// The anomaly is keyed by the alert's fingerprint (computed from its labels
// when the sender gives none) and its start: AnomalyID is derived from both,
// so the same alert firing again after it resolved is a new anomaly, and the
// event id is derived from the AnomalyID and the status, so a notification
// sent again (Alertmanager's repeat_interval, a retry) publishes the same
// ids, which JetStream's duplicate window drops.
func Map(a Alert, now time.Time) (Emission, error) {
	rule := a.Labels["alertname"]
	if rule == "" {
		return Emission{}, fmt.Errorf("an alert has no alertname label")
	}
	fp := a.Fingerprint
	if fp == "" {
		fp = fingerprint(a.Labels)
	}
	started := unixNano(a.StartsAt, now)
	anomaly := events.DerivedID("alert", fp, strconv.FormatInt(started, 10))
	metric := rule
	if m := a.Labels["metric"]; m != "" {
		metric = m
	}
	service, model, version := first(a.Labels, serviceLabels), first(a.Labels, modelLabels), first(a.Labels, versionLabels)
	switch a.Status {
	case StatusFiring:
		return Emission{ID: events.DerivedID("anomaly.detected", anomaly), Data: events.AnomalyDetected{
			AnomalyID: anomaly, Rule: rule, Fingerprint: fp, Metric: metric, Value: value(a), Severity: severity(a.Labels["severity"]),
			Summary: summary(a.Annotations), Labels: a.Labels, StartedUnixNano: started, DetectedUnixNano: max(now.UnixNano(), started),
			Service: service, Model: model, ModelVersion: version,
		}}, nil
	case StatusResolved:
		return Emission{ID: events.DerivedID("anomaly.resolved", anomaly), Data: events.AnomalyResolved{
			AnomalyID: anomaly, Rule: rule, Fingerprint: fp, Metric: metric, Value: value(a),
			ResolvedUnixNano: unixNano(a.EndsAt, now), Service: service, Model: model, ModelVersion: version,
		}}, nil
	}
	return Emission{}, fmt.Errorf("alert %s: status %q is not firing or resolved", rule, a.Status)
}

// unixNano is t in Unix nanoseconds, or now's when t is unset (Go's zero
// time, "0001-01-01T00:00:00Z" on the wire) or outside 1970-2100.
func unixNano(t time.Time, now time.Time) int64 {
	if t.Year() < 1970 || t.Year() >= 2100 {
		return now.UnixNano()
	}
	return t.UnixNano()
}

// fingerprint stands in for a missing one: a hash of the sorted labels.
func fingerprint(labels map[string]string) string {
	h := sha256.New()
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range labels {
			if !yield(k) {
				return
			}
		}
	}) {
		fmt.Fprintf(h, "%s\x00%s\x00", k, labels[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func first(labels map[string]string, names []string) string {
	for _, n := range names {
		if v := labels[n]; v != "" {
			return v
		}
	}
	return ""
}

// severity maps a severity label onto Medic's three; anything else is a
// warning.
func severity(label string) string {
	switch strings.ToLower(label) {
	case "critical", "page", "error", "high":
		return events.SeverityCritical
	case "info", "informational", "low", "none":
		return events.SeverityInfo
	}
	return events.SeverityWarning
}

func summary(annotations map[string]string) string {
	if s := annotations["summary"]; s != "" {
		return s
	}
	return annotations["description"]
}

var valueInString = regexp.MustCompile(`value=([-+0-9.eE]+|NaN|[-+]?Inf)`)

// value is the alert's value where Grafana gives one: the value of the
// first ref id in order (the query or its reduction, before the threshold
// condition), else the first in valueString; 0 otherwise (Alertmanager
// sends none), and 0 for a value that is not finite.
func value(a Alert) float64 {
	v := 0.0
	if len(a.Values) > 0 {
		keys := make([]string, 0, len(a.Values))
		for k := range a.Values {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		v = a.Values[keys[0]]
	} else if m := valueInString.FindStringSubmatch(a.ValueString); m != nil {
		v, _ = strconv.ParseFloat(m[1], 64)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}
