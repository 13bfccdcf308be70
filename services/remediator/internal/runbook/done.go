package runbook

import (
	"bytes"
	"fmt"
	"text/template"

	"github.com/medic-sre/medic/pkg/config"
)

// DoneWhen declares how to see that a step's effect is in place: a read
// action (a Reader, such as model.state) and a condition on one of the
// fields it reports. A remediator that takes over an interrupted run reads
// it before the step, and skips a step whose effect is already visible
// instead of acting twice.
type DoneWhen struct {
	Action string            `yaml:"action"`
	With   map[string]string `yaml:"with"`
	Field  string            `yaml:"field"`
	// Exactly one of Equals and NotEquals is set; both are templates.
	Equals    *string `yaml:"equals"`
	NotEquals *string `yaml:"not_equals"`

	templates map[string]*template.Template
	value     *template.Template
}

// Observation is a rendered done_when check.
type Observation struct {
	Action string
	With   map[string]string
	Field  string
	// Value is the rendered expectation; Negate means the field must
	// differ from it.
	Value  string
	Negate bool
}

// Holds says whether the observed fields show the effect, and describes
// what was seen: "serving_version is v1 (not v2)".
func (o Observation) Holds(fields map[string]string) (bool, string) {
	got, ok := fields[o.Field]
	if !ok {
		return false, fmt.Sprintf("%s reported no field %s", o.Action, o.Field)
	}
	if o.Negate {
		return got != o.Value, fmt.Sprintf("%s is %q (done when not %q)", o.Field, got, o.Value)
	}
	return got == o.Value, fmt.Sprintf("%s is %q (done when %q)", o.Field, got, o.Value)
}

// Render fills in the check's parameters and expectation.
func (d *DoneWhen) Render(v Vars) (Observation, error) {
	o := Observation{Action: d.Action, Field: d.Field, Negate: d.NotEquals != nil, With: map[string]string{}}
	for k, t := range d.templates {
		s, err := execute(t, v)
		if err != nil {
			return o, fmt.Errorf("done_when: parameter %s: %w", k, err)
		}
		o.With[k] = s
	}
	s, err := execute(d.value, v)
	if err != nil {
		return o, fmt.Errorf("done_when: expected value: %w", err)
	}
	o.Value = s
	return o, nil
}

func execute(t *template.Template, v Vars) (string, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		return "", err
	}
	return b.String(), nil
}

// validate checks a done_when block and compiles its templates; i and j
// are the runbook's and the step's indexes.
func (d *DoneWhen) validate(check Checker, i, j int) []error {
	field := func(msg string, path ...any) error {
		return config.Field(msg, append([]any{"runbooks", i, "steps", j, "done_when"}, path...)...)
	}
	var errs []error
	if check != nil {
		if err := check.CheckRead(d.Action, d.With); err != nil {
			errs = append(errs, field(err.Error(), "action"))
		}
	}
	if d.Field == "" {
		errs = append(errs, field("is required: the observed field that shows the step's effect", "field"))
	}
	value := d.Equals
	if (d.Equals == nil) == (d.NotEquals == nil) {
		errs = append(errs, field("set exactly one of equals and not_equals", "equals"))
	} else if value == nil {
		value = d.NotEquals
	}
	d.templates = map[string]*template.Template{}
	for k, v := range d.With {
		t, err := template.New(k).Option("missingkey=error").Parse(v)
		if err != nil {
			errs = append(errs, field(fmt.Sprintf("bad template: %v", err), "with", k))
			continue
		}
		d.templates[k] = t
	}
	if value != nil {
		t, err := template.New("value").Option("missingkey=error").Parse(*value)
		if err != nil {
			errs = append(errs, field(fmt.Sprintf("bad template: %v", err), "equals"))
		}
		d.value = t
	}
	return errs
}
