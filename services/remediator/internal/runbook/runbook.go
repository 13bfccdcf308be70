// Package runbook loads the remediator's runbooks: which incidents each one
// fits, the steps it takes, and how recovery is verified afterwards.
package runbook

import (
	_ "embed"
	"errors"
	"fmt"
	"text/template"
	"time"

	"github.com/medic-sre/medic/pkg/config"
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultName labels errors in the embedded runbooks.
const DefaultName = "embedded default runbooks"

// File is a runbooks document.
type File struct {
	Runbooks []Runbook `yaml:"runbooks"`

	// check validates steps' actions and raw parameters; Load sets it.
	check Checker
}

// Checker says whether an action exists and its parameters suffice
// (action.Registry is one).
type Checker interface {
	// Check validates a step's action.
	Check(action string, with map[string]string) error
	// CheckRead validates a done_when's action, which must only read.
	CheckRead(action string, with map[string]string) error
}

// Runbook is one remediation: when it applies, what it does, and how to
// tell that it worked.
type Runbook struct {
	Name  string `yaml:"name"`
	Match Match  `yaml:"match"`
	// MinDuration is how long an incident must have been firing, since its
	// detection, before this runbook acts on it: a blip that resolves
	// sooner gets no action. Unset is DefaultMinDuration; 0s acts at once.
	MinDuration *time.Duration `yaml:"min_duration"`
	Steps       []Step         `yaml:"steps"`
	Verify      *Verify        `yaml:"verify"`
}

// DefaultMinDuration is the persistence minimum of a runbook that sets no
// min_duration.
const DefaultMinDuration = 10 * time.Second

// Persistence is how long an incident must have been firing before the
// runbook acts on it.
func (rb *Runbook) Persistence() time.Duration {
	if rb.MinDuration == nil {
		return DefaultMinDuration
	}
	return *rb.MinDuration
}

// AnyValue as a match field matches a cause that has that field, whatever
// its value: `model: "*"` fits a cause that names a model, and not one that
// names none, so a step need not guess it.
const AnyValue = "*"

// Match selects the rank-1 causes a runbook applies to; empty fields match
// anything, AnyValue any non-empty value.
type Match struct {
	CauseKind    string  `yaml:"cause_kind"`
	Service      string  `yaml:"service"`
	Model        string  `yaml:"model"`
	ModelVersion string  `yaml:"model_version"`
	MinScore     float64 `yaml:"min_score"`
	// MinConfidence and MinMargin, when set, replace the remediator's
	// --min-confidence and --min-margin for this runbook: the analysis's
	// confidence, and rank 1's relative margin over rank 2, below which
	// the incident is escalated to people instead.
	MinConfidence *float64 `yaml:"min_confidence"`
	MinMargin     *float64 `yaml:"min_margin"`
}

// Step is one action with its parameters, each a text/template.
type Step struct {
	Name   string            `yaml:"name"`
	Action string            `yaml:"action"`
	With   map[string]string `yaml:"with"`
	// Idempotent declares the step safe to repeat with the same
	// Idempotency-Key: a remediator that takes over an interrupted run
	// runs it again when its effect is not visible. A step that is not
	// idempotent and whose effect cannot be seen (no done_when) ends an
	// interrupted run as failed, for people to judge.
	Idempotent bool `yaml:"idempotent"`
	// DoneWhen, when set, tells whether the step's effect is already in
	// place; see DoneWhen.
	DoneWhen *DoneWhen `yaml:"done_when"`

	templates map[string]*template.Template
}

// Verify is the recovery check: an aggregate of a metric over recent points
// must drop below a threshold before the timeout.
type Verify struct {
	// Metric is a metric name, or the ratio "<numerator> / <denominator>"
	// of two (see package metricexpr), which takes the aggregate ratio.
	Metric    string        `yaml:"metric"`
	Service   string        `yaml:"service"`
	Aggregate string        `yaml:"aggregate"`
	Below     float64       `yaml:"below"`
	Window    time.Duration `yaml:"window"`
	MinPoints int           `yaml:"min_points"`
	Timeout   time.Duration `yaml:"timeout"`
}

// Aggregates lists the aggregate functions a verify block may name. The
// first three are ClickHouse's over a metric's points; ratio is for a ratio
// metric A / B, and measures sum(A) / sum(B) over the window (for counter
// rates: errors over requests), which no other aggregate can read.
var Aggregates = []string{"avg", "max", "min", AggregateRatio}

// AggregateRatio is the aggregate of a ratio metric.
const AggregateRatio = "ratio"

// Load reads runbooks from path, or the embedded defaults when path is
// empty, strictly: an unknown field, an unknown action or a bad template is
// an error naming file, line and field.
func Load(path string, check Checker) (*File, error) {
	f := &File{check: check}
	if path == "" {
		return f, config.Load(DefaultName, defaultYAML, f)
	}
	return f, config.LoadFile(path, f)
}

// Parse reads runbooks from raw YAML; name labels errors.
func Parse(name string, raw []byte, check Checker) (*File, error) {
	f := &File{check: check}
	return f, config.Load(name, raw, f)
}

// Validate checks every runbook and compiles its templates.
func (f *File) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for i := range f.Runbooks {
		rb := &f.Runbooks[i]
		if rb.Name == "" {
			errs = append(errs, config.Field("is required", "runbooks", i, "name"))
		} else if seen[rb.Name] {
			errs = append(errs, config.Field(fmt.Sprintf("runbook %q is defined twice", rb.Name), "runbooks", i, "name"))
		}
		seen[rb.Name] = true
		errs = append(errs, f.validateRunbook(i, rb)...)
	}
	return errors.Join(errs...)
}

func (f *File) validateRunbook(i int, rb *Runbook) []error {
	var errs []error
	if len(rb.Steps) == 0 {
		errs = append(errs, config.Field("needs at least one step", "runbooks", i, "steps"))
	}
	if rb.Match.MinScore < 0 {
		errs = append(errs, config.Field("must be 0 or more", "runbooks", i, "match", "min_score"))
	}
	if v := rb.Match.MinConfidence; v != nil && (*v < 0 || *v > 1) {
		errs = append(errs, config.Field(fmt.Sprintf("must be between 0 and 1, got %g", *v), "runbooks", i, "match", "min_confidence"))
	}
	if v := rb.Match.MinMargin; v != nil && (*v < 0 || *v > 1) {
		errs = append(errs, config.Field(fmt.Sprintf("must be between 0 and 1, got %g", *v), "runbooks", i, "match", "min_margin"))
	}
	if rb.MinDuration != nil && *rb.MinDuration < 0 {
		errs = append(errs, config.Field("must be 0s or more", "runbooks", i, "min_duration"))
	}
	for j := range rb.Steps {
		errs = append(errs, f.validateStep(i, j, &rb.Steps[j])...)
	}
	if rb.Verify != nil {
		errs = append(errs, rb.Verify.validate(i)...)
	}
	return errs
}

func (f *File) validateStep(i, j int, s *Step) []error {
	var errs []error
	if s.Name == "" {
		errs = append(errs, config.Field("is required", "runbooks", i, "steps", j, "name"))
	}
	if f.check != nil {
		if err := f.check.Check(s.Action, s.With); err != nil {
			errs = append(errs, config.Field(err.Error(), "runbooks", i, "steps", j, "action"))
		}
	}
	if s.DoneWhen != nil {
		errs = append(errs, s.DoneWhen.validate(f.check, i, j)...)
	}
	s.templates = map[string]*template.Template{}
	for k, v := range s.With {
		t, err := template.New(k).Option("missingkey=error").Parse(v)
		if err != nil {
			errs = append(errs, config.Field(fmt.Sprintf("bad template: %v", err), "runbooks", i, "steps", j, "with", k))
			continue
		}
		s.templates[k] = t
	}
	return errs
}
