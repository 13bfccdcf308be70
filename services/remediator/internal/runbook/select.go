package runbook

import (
	"bytes"
	"fmt"

	"github.com/medic-sre/medic/pkg/events"
)

// Vars is what step templates see: {{.Incident.ID}}, {{.Cause.Model}}.
type Vars struct {
	Incident Incident
	Cause    events.Cause
}

// Incident is the incident a runbook runs for.
type Incident struct {
	ID      string
	Symptom string
}

// Matches reports whether the runbook applies to cause.
func (m Match) Matches(c events.Cause) bool {
	return fits(m.CauseKind, c.Kind) && fits(m.Service, c.Service) && fits(m.Model, c.Model) &&
		fits(m.ModelVersion, c.ModelVersion) && c.Score >= m.MinScore
}

// fits compares one match field with the cause: empty matches anything,
// AnyValue any non-empty value, anything else itself.
func fits(want, got string) bool {
	return want == "" || want == got || (want == AnyValue && got != "")
}

// Select returns the first runbook that fits the rank-1 cause. Only the top
// cause is acted on: acting on a weaker candidate risks changing a healthy
// part of the system.
func (f *File) Select(causes []events.Cause) (*Runbook, events.Cause, bool) {
	if len(causes) == 0 {
		return nil, events.Cause{}, false
	}
	top := causes[0]
	for _, c := range causes[1:] {
		if c.Rank < top.Rank {
			top = c
		}
	}
	for i := range f.Runbooks {
		if f.Runbooks[i].Match.Matches(top) {
			return &f.Runbooks[i], top, true
		}
	}
	return nil, top, false
}

// Render fills in a step's parameters.
func (s *Step) Render(v Vars) (map[string]string, error) {
	out := make(map[string]string, len(s.templates))
	for k, t := range s.templates {
		var b bytes.Buffer
		if err := t.Execute(&b, v); err != nil {
			return nil, fmt.Errorf("step %q: parameter %s: %w", s.Name, k, err)
		}
		out[k] = b.String()
	}
	return out, nil
}
