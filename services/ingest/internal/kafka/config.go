package kafka

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/medic-sre/medic/pkg/config"
)

// Topic formats.
const (
	// FormatTelemetry is Medic's own JSON: each record is one
	// events.TelemetryPoints object ({"source": ..., "points": [...]}) or
	// one bare events.Point ({"name": ..., "value": ...}).
	FormatTelemetry = "telemetry"
	// FormatInference is an inference log: each record is one JSON object
	// describing one prediction, read through the topic's Mapping.
	FormatInference = "inference"
	// FormatLabel is a log of ground-truth labels that arrive after their
	// predictions: each record is one JSON object naming a prediction id
	// and its label, read through the topic's Mapping (see label.go).
	FormatLabel = "label"
)

// Config is the Kafka source's YAML file: the topics to read and how.
//
//	topics:
//	  - name: medic-telemetry
//	    format: telemetry
//	  - name: fraud-inference
//	    format: inference
//	    source: fraud-serving
//	    mapping:
//	      service: service
//	      default_service: model-server
//	      model: model.name
//	      version: model.version
//	      latency_ms: latency_ms
//	      prediction: output.score
//	      label: label
//	      timestamp: ts
//	      timestamp_unit: ms
//	      features: [features.amount, features.merchant_risk]
//	      prediction_id: prediction_id
//	  - name: fraud-labels
//	    format: label
//	    mapping:
//	      prediction_id: prediction_id
//	      label: label
//	      timestamp: ts
type Config struct {
	Topics []Topic `yaml:"topics"`
}

// Topic is one Kafka topic and the format of its records.
type Topic struct {
	Name   string `yaml:"name"`
	Format string `yaml:"format"`
	// Source is the CloudEvent source of the points read from the topic
	// (their events' subject); empty is "kafka/<name>". A telemetry record
	// that names its own source keeps it.
	Source string `yaml:"source"`
	// Mapping says which fields of an inference record hold what; only for
	// FormatInference.
	Mapping *Mapping `yaml:"mapping"`
}

// SourceName is the topic's CloudEvent source.
func (t Topic) SourceName() string {
	if t.Source != "" {
		return t.Source
	}
	return "kafka/" + t.Name
}

// LoadConfig reads and validates the YAML file at path; its errors read
// "path:line: field topics[1].mapping.latency_ms: problem".
func LoadConfig(path string) (Config, error) {
	var c Config
	err := config.LoadFile(path, &c)
	return c, err
}

// ParseConfig is LoadConfig of YAML already read; name labels its errors.
func ParseConfig(name string, raw []byte) (Config, error) {
	var c Config
	err := config.Load(name, raw, &c)
	return c, err
}

// Validate checks every topic and its mapping, naming each field at fault.
func (c *Config) Validate() error {
	if len(c.Topics) == 0 {
		return config.Field("at least one topic is needed", "topics")
	}
	var errs []error
	seen := map[string]bool{}
	for i, t := range c.Topics {
		switch {
		case strings.TrimSpace(t.Name) == "":
			errs = append(errs, config.Field("a topic needs a name", "topics", i, "name"))
		case seen[t.Name]:
			errs = append(errs, config.Field(fmt.Sprintf("topic %q is listed twice", t.Name), "topics", i, "name"))
		}
		seen[t.Name] = true
		errs = append(errs, t.validate(i)...)
	}
	return errors.Join(errs...)
}

func (t Topic) validate(i int) []error {
	switch t.Format {
	case FormatTelemetry:
		if t.Mapping != nil {
			return []error{config.Field("a telemetry topic takes no mapping (its records are Medic's JSON)", "topics", i, "mapping")}
		}
		return nil
	case FormatInference:
		if t.Mapping == nil {
			return []error{config.Field("an inference topic needs a mapping", "topics", i, "mapping")}
		}
		return t.Mapping.validate("topics", i, "mapping")
	case FormatLabel:
		if t.Mapping == nil {
			return []error{config.Field("a label topic needs a mapping (prediction_id and label)", "topics", i, "mapping")}
		}
		return t.Mapping.validateLabel("topics", i, "mapping")
	}
	return []error{config.Field(fmt.Sprintf("format %q is not %q, %q or %q", t.Format, FormatTelemetry, FormatInference, FormatLabel), "topics", i, "format")}
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

func (m *Mapping) validate(at ...any) []error {
	field := func(msg string, path ...any) error { return config.Field(msg, append(slices.Clone(at), path...)...) }
	var errs []error
	if m.Service == "" && m.DefaultService == "" {
		errs = append(errs, field("give the service's field or a default_service", "service"))
	}
	if m.LatencyMS == "" && m.Prediction == "" && m.Label == "" && len(m.Features) == 0 {
		errs = append(errs, field("map at least one of latency_ms, prediction, label or features, or the records yield no points"))
	}
	return append(errs, m.validatePaths(at...)...)
}

// validatePaths checks the mapping's paths and timestamp unit, whatever
// the topic's format.
func (m *Mapping) validatePaths(at ...any) []error {
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
