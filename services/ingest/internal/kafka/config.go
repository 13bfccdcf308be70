package kafka

import (
	"errors"
	"fmt"
	"strings"

	"github.com/medic-sre/medic/pkg/config"
	"github.com/medic-sre/medic/pkg/inferencemap"
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
	Mapping *inferencemap.Mapping `yaml:"mapping"`
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
		return t.Mapping.Validate("topics", i, "mapping")
	case FormatLabel:
		if t.Mapping == nil {
			return []error{config.Field("a label topic needs a mapping (prediction_id and label)", "topics", i, "mapping")}
		}
		return t.Mapping.ValidateLabel("topics", i, "mapping")
	}
	return []error{config.Field(fmt.Sprintf("format %q is not %q, %q or %q", t.Format, FormatTelemetry, FormatInference, FormatLabel), "topics", i, "format")}
}
