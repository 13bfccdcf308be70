// Package grouping decides which anomalies belong to the same incident: an
// Alertmanager-like group key built from the labels named in group_by.
package grouping

import (
	_ "embed"
	"fmt"
	"strings"

	"github.com/medic-sre/medic/pkg/config"
	"github.com/medic-sre/medic/pkg/events"
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultName labels errors in the embedded default configuration.
const DefaultName = "embedded default correlator config"

// Config is the correlator's configuration file.
type Config struct {
	// GroupBy names the labels whose values make the group key: anomaly
	// fields (service, model, model_version) or keys of its labels.
	GroupBy []string `yaml:"group_by"`
}

// Load reads the configuration from path, or the embedded defaults when
// path is empty.
func Load(path string) (*Config, error) {
	var c Config
	if path == "" {
		return &c, config.Load(DefaultName, defaultYAML, &c)
	}
	if err := config.LoadFile(path, &c); err != nil {
		return nil, fmt.Errorf("%w\n(fix the file named by --config / CORRELATOR_CONFIG)", err)
	}
	return &c, nil
}

// Validate checks that group_by names at least one label, each once.
func (c *Config) Validate() error {
	if len(c.GroupBy) == 0 {
		return config.Field("must name at least one label, e.g. [model]", "group_by")
	}
	seen := map[string]bool{}
	for i, l := range c.GroupBy {
		switch {
		case strings.TrimSpace(l) == "":
			return config.Field("label is empty", "group_by", i)
		case strings.ContainsAny(l, "=,"):
			return config.Field(fmt.Sprintf("label %q must not contain '=' or ','", l), "group_by", i)
		case seen[l]:
			return config.Field(fmt.Sprintf("label %q is listed twice", l), "group_by", i)
		}
		seen[l] = true
	}
	return nil
}

// Key is the group key of an anomaly, e.g. "model=fraud". An anomaly that
// lacks one of the labels is grouped by its service, so that it still lands
// in an incident rather than in one catch-all group.
func (c *Config) Key(a events.AnomalyDetected) string {
	parts := make([]string, 0, len(c.GroupBy))
	for _, l := range c.GroupBy {
		v := label(a, l)
		if v == "" {
			return "service=" + a.Service
		}
		parts = append(parts, l+"="+v)
	}
	return strings.Join(parts, ",")
}

// label looks a label up among the anomaly's scope fields first, then its
// labels.
func label(a events.AnomalyDetected, name string) string {
	switch name {
	case "service":
		return a.Service
	case "model":
		return a.Model
	case "model_version":
		return a.ModelVersion
	}
	return a.Labels[name]
}
