// Package inferencemap turns the records of an inference log (one JSON
// object per prediction, in the team's own shape) into telemetry points,
// through a mapping that names the fields holding each value. The ingest
// service reads Kafka topics with it; the detector's scenario suite reads
// recorded simulator runs with the same code.
package inferencemap

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/medic-sre/medic/pkg/config"

	"github.com/medic-sre/medic/pkg/events"
)

// Names of the points an inference record becomes. A point is made only for
// a field that is mapped and present in the record, except the missing
// features count, made whenever features are mapped.
const (
	PointLatency    = "inference.latency_ms"
	PointPrediction = "inference.prediction"
	PointLabel      = "inference.label"
	// PointFeaturesMissing counts the mapped features that a record lacks
	// (absent or null), so that its average over records, divided by the
	// number of features, is the missing rate.
	PointFeaturesMissing = "inference.features_missing"
	// PointFeaturePrefix + name is a feature's value.
	PointFeaturePrefix = "feature."
	// PointFeaturePrefix + name + PointMissingSuffix is 1 in a record that
	// lacks that feature.
	PointMissingSuffix = ".missing"
	// AttrPredictionID is the attribute of prediction and label points
	// that names their prediction, where the mapping has its field.
	AttrPredictionID = "prediction_id"
)

// MapRecord turns one inference record into points, all at the record's
// timestamp (recordTime when the mapping has none or the record lacks it),
// with the record's service, model and version. An error is a *RecordError:
// the record is malformed, or a mapped field holds a wrong type, a value
// that is not finite or out of bounds, or a bad time.
func (m *Mapping) MapRecord(raw []byte, recordTime time.Time) ([]events.Point, error) {
	obj, err := DecodeObject(raw)
	if err != nil {
		return nil, err
	}
	base, err := m.scope(obj, recordTime)
	if err != nil {
		return nil, err
	}
	id, err := m.predictionID(obj)
	if err != nil {
		return nil, err
	}
	var pts []events.Point
	add := func(name string, v float64) {
		p := base
		p.Name, p.Value = name, v
		pts = append(pts, p)
	}
	for _, f := range []struct{ name, path string }{{PointLatency, m.LatencyMS}, {PointPrediction, m.Prediction}, {PointLabel, m.Label}} {
		if f.path == "" {
			continue
		}
		if v, ok := lookup(obj, f.path); ok {
			n, err := number(v, f.path)
			if err != nil {
				return nil, err
			}
			add(f.name, n)
			if f.name != PointLatency {
				withPredictionID(&pts[len(pts)-1], id)
			}
		}
	}
	if len(m.Features) == 0 {
		return pts, nil
	}
	missing := 0
	for _, path := range m.Features {
		name := PointFeaturePrefix + featureName(path)
		v, ok := lookup(obj, path)
		if !ok {
			missing++
			add(name+PointMissingSuffix, 1)
			continue
		}
		n, err := number(v, path)
		if err != nil {
			return nil, err
		}
		add(name, n)
	}
	add(PointFeaturesMissing, float64(missing))
	return pts, nil
}

// scope is the point every value of the record shares: time, service,
// model and version.
func (m *Mapping) scope(obj map[string]any, recordTime time.Time) (events.Point, error) {
	p := events.Point{Service: m.DefaultService, TimeUnixNano: recordTime.UnixNano()}
	if recordTime.IsZero() || p.TimeUnixNano < 0 || p.TimeUnixNano >= MaxUnixNano {
		p.TimeUnixNano = 0
	}
	if m.Timestamp != "" {
		if v, ok := lookup(obj, m.Timestamp); ok {
			unit := timestampUnits[m.TimestampUnit]
			if unit == 0 {
				unit = timestampUnits["ms"]
			}
			ns, err := timestamp(v, unit, m.Timestamp)
			if err != nil {
				return p, err
			}
			p.TimeUnixNano = ns
		}
	}
	for _, f := range []struct {
		path string
		dst  *string
	}{{m.Service, &p.Service}, {m.Model, &p.Model}, {m.Version, &p.ModelVersion}} {
		if f.path == "" {
			continue
		}
		if v, ok := lookup(obj, f.path); ok {
			s, err := text(v, f.path)
			if err != nil {
				return p, err
			}
			*f.dst = s
		}
	}
	if p.Service == "" {
		return p, Reject(ReasonMissingField, m.Service, "the record names no service and the mapping has no default_service")
	}
	if p.TimeUnixNano == 0 {
		return p, Reject(ReasonBadTimestamp, m.Timestamp, "the record has no time")
	}
	return p, nil
}

// Timestamp units of a numeric timestamp field.
var timestampUnits = map[string]int64{"s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1}

// Mapping names, as dotted paths into an inference record's JSON
// ("output.score", "features.0"), the fields that hold each value. Empty
// paths are fields the log does not have.
type Mapping struct {
	// Service is the field naming the service; DefaultService is used when
	// the path is empty or the record lacks it. One of them is needed.
	Service        string `yaml:"service"`
	DefaultService string `yaml:"default_service"`
	Model          string `yaml:"model"`
	Version        string `yaml:"version"`
	// LatencyMS is the latency in milliseconds.
	LatencyMS  string `yaml:"latency_ms"`
	Prediction string `yaml:"prediction"`
	Label      string `yaml:"label"`
	// PredictionID is the field holding the prediction's id: on an
	// inference topic, it goes on the prediction and label points as the
	// attribute prediction_id, for the detector's label join; a label
	// topic needs it.
	PredictionID string `yaml:"prediction_id"`
	// Timestamp is the prediction's time: an RFC 3339 string, or a number
	// in TimestampUnit (s, ms, us or ns; ms when empty). Without it, or in a
	// record that lacks it, the Kafka record's own timestamp is used.
	Timestamp     string `yaml:"timestamp"`
	TimestampUnit string `yaml:"timestamp_unit"`
	// Features are the numeric input features; each becomes the point
	// feature.<last path segment>, so those last segments must differ.
	Features []string `yaml:"features"`
}

// Validate checks the mapping; at is the path of the mapping in its file,
// which every error names.
func (m *Mapping) Validate(at ...any) []error {
	field := func(msg string, path ...any) error { return config.Field(msg, append(slices.Clone(at), path...)...) }
	var errs []error
	if m.Service == "" && m.DefaultService == "" {
		errs = append(errs, field("give the service's field or a default_service", "service"))
	}
	if m.LatencyMS == "" && m.Prediction == "" && m.Label == "" && len(m.Features) == 0 {
		errs = append(errs, field("map at least one of latency_ms, prediction, label or features, or the records yield no points"))
	}
	return append(errs, m.ValidatePaths(at...)...)
}

// ValidatePaths checks the mapping's paths and timestamp unit, whatever
// the topic's format.
func (m *Mapping) ValidatePaths(at ...any) []error {
	field := func(msg string, path ...any) error { return config.Field(msg, append(slices.Clone(at), path...)...) }
	var errs []error
	paths := []struct{ name, path string }{{"service", m.Service}, {"model", m.Model}, {"version", m.Version},
		{"latency_ms", m.LatencyMS}, {"prediction", m.Prediction}, {"label", m.Label}, {"timestamp", m.Timestamp}, {"prediction_id", m.PredictionID}}
	for _, p := range paths {
		if p.path != "" && !validPath(p.path) {
			errs = append(errs, field(fmt.Sprintf("path %q has an empty segment", p.path), p.name))
		}
	}
	if _, ok := timestampUnits[m.TimestampUnit]; !ok && m.TimestampUnit != "" {
		errs = append(errs, field(fmt.Sprintf("unit %q is not s, ms, us or ns", m.TimestampUnit), "timestamp_unit"))
	}
	names := map[string]bool{}
	for j, f := range m.Features {
		name := featureName(f)
		switch {
		case !validPath(f):
			errs = append(errs, field(fmt.Sprintf("path %q has an empty segment", f), "features", j))
		case names[name]:
			errs = append(errs, field(fmt.Sprintf("feature name %q (the path's last segment) is used twice", name), "features", j))
		}
		names[name] = true
	}
	return errs
}

func validPath(p string) bool { return !slices.Contains(strings.Split(p, "."), "") }

// featureName is the last segment of a feature's path.
func featureName(path string) string { return path[strings.LastIndexByte(path, '.')+1:] }
