package runbook_test

import (
	"testing"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/remediator/internal/runbook"
)

// The default runbooks declare how a takeover sees each step's effect.
func TestDefaultRunbooksDeclareDoneWhen(t *testing.T) {
	f, err := runbook.Load("", registry)
	if err != nil {
		t.Fatal(err)
	}
	vars := runbook.Vars{Cause: events.Cause{Kind: events.CauseModelVersion, Model: "fraud", ModelVersion: "v2"}}
	tests := []struct {
		name     string
		runbook  string
		observed map[string]string
		want     bool
	}{
		{name: "bad version still serves", runbook: "rollback-bad-model-version", observed: map[string]string{"serving_version": "v2"}},
		{name: "rolled back", runbook: "rollback-bad-model-version", observed: map[string]string{"serving_version": "v1"}, want: true},
		{name: "field missing", runbook: "rollback-bad-model-version", observed: map[string]string{}},
		{name: "failover off", runbook: "fail-over-to-backup-model", observed: map[string]string{"failover": "false"}},
		{name: "failover on", runbook: "fail-over-to-backup-model", observed: map[string]string{"failover": "true"}, want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var step *runbook.Step
			for i := range f.Runbooks {
				if f.Runbooks[i].Name == tc.runbook {
					step = &f.Runbooks[i].Steps[0]
				}
			}
			if step == nil || step.DoneWhen == nil || !step.Idempotent {
				t.Fatalf("runbook %s: first step %+v, want idempotent with done_when", tc.runbook, step)
			}
			o, err := step.DoneWhen.Render(vars)
			if err != nil {
				t.Fatal(err)
			}
			if o.Action != "model.state" || o.With["model"] != "fraud" {
				t.Fatalf("observation %+v", o)
			}
			if got, why := o.Holds(tc.observed); got != tc.want || why == "" {
				t.Fatalf("holds %v (%s), want %v", got, why, tc.want)
			}
		})
	}
}
