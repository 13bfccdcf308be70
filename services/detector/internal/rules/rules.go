// Package rules declares the detector's alerting rules: what metric to watch,
// how to aggregate it over a sliding window, and when its value is anomalous.
// Rules are YAML, shaped like Prometheus alerting rules, and are checked
// strictly at start so that a bad file fails with its file, line and field.
package rules

import (
	_ "embed"
	"fmt"
	"strconv"
	"text/template"
	"time"

	"github.com/medic-sre/medic/pkg/config"
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultName labels errors in the embedded default rules.
const DefaultName = "embedded default rules"

// File is a rules file.
type File struct {
	Rules []Rule `yaml:"rules"`
}

// Rule is one alerting rule. One alert series exists per distinct value of
// the GroupBy labels among the points that pass Match.
type Rule struct {
	Name string `yaml:"name"`
	// Metric is the point name the rule reads: the numerator of a ratio
	// rule, or the histogram whose X_bucket points a histogram rule reads.
	Metric string `yaml:"metric"`
	// Denominator is a ratio rule's second point name (aggregate: ratio):
	// the value is sum(Metric) / sum(Denominator) over the window.
	Denominator string            `yaml:"denominator"`
	Match       map[string]string `yaml:"match"`
	// GroupBy names point fields (service, model, model_version) or
	// attribute keys; each distinct combination is its own series.
	GroupBy   []string      `yaml:"group_by"`
	Aggregate string        `yaml:"aggregate"`
	Window    time.Duration `yaml:"window"`
	Op        string        `yaml:"op"`
	Threshold float64       `yaml:"threshold"`
	For       time.Duration `yaml:"for"`
	// ResolveFor is a pointer so that "unset" (default: For) differs from 0.
	ResolveFor *time.Duration `yaml:"resolve_for"`
	// MinPoints is how much data a window needs to decide: points, or for
	// a ratio its denominator's points, or for a histogram its observations.
	MinPoints int    `yaml:"min_points"`
	Severity  string `yaml:"severity"`
	Summary   string `yaml:"summary"`
}

// Expression is what the rule watches, as anomalies name it: the metric,
// or "<numerator> / <denominator>" for a ratio rule. Other services parse
// that form, so it has exactly one space each side of the slash.
func (r Rule) Expression() string {
	if r.Denominator != "" {
		return r.Metric + " / " + r.Denominator
	}
	return r.Metric
}

// ResolveAfter is how long the condition must be false before a firing
// series resolves: resolve_for, or for when resolve_for is unset.
func (r Rule) ResolveAfter() time.Duration {
	if r.ResolveFor != nil {
		return *r.ResolveFor
	}
	return r.For
}

// SummaryData is what a rule's summary template can use.
type SummaryData struct {
	Rule string
	// Metric is the rule's Expression.
	Metric    string
	Severity  string
	Value     float64
	Threshold float64
	Labels    map[string]string
}

// Template parses the rule's summary template. Besides the standard
// functions (printf), it has num, which writes a number human-sized.
func (r Rule) Template() (*template.Template, error) {
	return template.New(r.Name).Option("missingkey=zero").Funcs(template.FuncMap{"num": Num}).Parse(r.Summary)
}

// Num formats a number for a title: at most 4 significant digits, in
// exponent form when large or small (1e+308, 1e-09), so that a wild value
// can never make a 300-digit title. Integers of any Go type are accepted,
// so that {{num 3}} works too.
func Num(v any) string {
	switch n := v.(type) {
	case float64:
		return strconv.FormatFloat(n, 'g', 4, 64)
	case float32:
		return strconv.FormatFloat(float64(n), 'g', 4, 32)
	case int:
		return strconv.FormatFloat(float64(n), 'g', 4, 64)
	case int64:
		return strconv.FormatFloat(float64(n), 'g', 4, 64)
	}
	return fmt.Sprint(v)
}

// Load reads rules from path, or the embedded defaults when path is empty.
func Load(path string) (*File, error) {
	var f File
	if path == "" {
		return &f, config.Load(DefaultName, defaultYAML, &f)
	}
	if err := config.LoadFile(path, &f); err != nil {
		return nil, fmt.Errorf("%w\n(fix the rules file named by --rules / RULES_FILE)", err)
	}
	return &f, nil
}
