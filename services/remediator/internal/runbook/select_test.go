package runbook_test

import (
	"strings"
	"testing"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/remediator/internal/runbook"
)

const selectYAML = `
runbooks:
  - name: strong-v2
    match: {cause_kind: model_version, model: fraud, model_version: v2, min_score: 0.5}
    steps: [{name: set v1, action: model.set_version, with: {model: "{{.Cause.Model}}", version: v1}}]
  - name: any-model-version
    match: {cause_kind: model_version}
    steps: [{name: roll back, action: model.rollback, with: {model: "{{.Cause.Model}}"}}]
  - name: notify-ops
    match: {service: feature-service}
    steps:
      - name: page
        action: http
        with: {url: "http://ops.invalid/hook", body: '{"incident":"{{.Incident.ID}}","cause":"{{.Cause.ID}}"}'}
  - name: fail-over-named-model
    match: {service: model-server, model: "*"}
    steps: [{name: fail over, action: model.failover, with: {model: "{{.Cause.Model}}"}}]
`

func TestSelectUsesTheTopCause(t *testing.T) {
	f, err := runbook.Parse("select.yaml", []byte(selectYAML), registry)
	if err != nil {
		t.Fatal(err)
	}
	v2 := events.Cause{Rank: 1, Kind: events.CauseModelVersion, ID: "fraud@v2", Model: "fraud", ModelVersion: "v2", Score: 0.9}
	weak := v2
	weak.Score = 0.2
	feat := events.Cause{Rank: 1, Kind: events.CauseService, ID: "feature-service", Service: "feature-service", Score: 0.7}
	tests := []struct {
		name   string
		causes []events.Cause
		want   string
	}{
		{name: "exact match first", causes: []events.Cause{v2}, want: "strong-v2"},
		{name: "below min_score falls through", causes: []events.Cause{weak}, want: "any-model-version"},
		{name: "only rank 1 counts", causes: []events.Cause{{Rank: 2, Kind: events.CauseService, Service: "feature-service"}, {Rank: 1, Kind: events.CauseChange}}},
		{name: "rank 1 listed second", causes: []events.Cause{{Rank: 2, Kind: events.CauseChange}, feat}, want: "notify-ops"},
		{name: "no causes", causes: nil},
		{name: "* matches a named model", causes: []events.Cause{{Rank: 1, Kind: events.CauseService, Service: "model-server", Model: "m"}}, want: "fail-over-named-model"},
		{name: "* does not match a missing model", causes: []events.Cause{{Rank: 1, Kind: events.CauseService, Service: "model-server"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rb, _, ok := f.Select(tc.causes)
			if got := name(rb, ok); got != tc.want {
				t.Fatalf("selected %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRenderFillsTemplates(t *testing.T) {
	f, err := runbook.Parse("select.yaml", []byte(selectYAML), registry)
	if err != nil {
		t.Fatal(err)
	}
	vars := runbook.Vars{Incident: runbook.Incident{ID: "inc-7"}, Cause: events.Cause{ID: "feature-service", Model: "fraud"}}
	tests := []struct {
		name string
		rb   int
		key  string
		want string
	}{
		{name: "cause model", rb: 0, key: "model", want: "fraud"},
		{name: "literal", rb: 0, key: "version", want: "v1"},
		{name: "incident and cause in a body", rb: 2, key: "body", want: `{"incident":"inc-7","cause":"feature-service"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			with, err := f.Runbooks[tc.rb].Steps[0].Render(vars)
			if err != nil {
				t.Fatal(err)
			}
			if with[tc.key] != tc.want {
				t.Fatalf("%s = %q, want %q", tc.key, with[tc.key], tc.want)
			}
		})
	}
}

func TestRenderReportsUnknownFields(t *testing.T) {
	raw := "runbooks:\n  - name: a\n    steps: [{name: s, action: model.rollback, with: {model: '{{.Cause.Flavour}}'}}]\n"
	f, err := runbook.Parse("x.yaml", []byte(raw), registry)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Runbooks[0].Steps[0].Render(runbook.Vars{})
	if err == nil || !strings.Contains(err.Error(), "Flavour") {
		t.Fatalf("want an error naming the field, got %v", err)
	}
}

func name(rb *runbook.Runbook, ok bool) string {
	if !ok {
		return ""
	}
	return rb.Name
}
