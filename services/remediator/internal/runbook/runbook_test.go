package runbook_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/remediator/internal/action"
	"github.com/medic-sre/medic/services/remediator/internal/runbook"
)

var registry = action.Default("http://serving.invalid", action.NewClient(0))

func TestLoadRejectsWithFileLineAndField(t *testing.T) {
	tests := []struct {
		name string
		file string
		want string
	}{
		{name: "unknown field", file: "unknown_field.yaml", want: "unknown_field.yaml:4: field stepz: unknown field"},
		{name: "unknown action", file: "unknown_action.yaml", want: `unknown_action.yaml:5: field runbooks[0].steps[0].action: unknown action "server.reboot"`},
		{name: "missing parameter", file: "missing_param.yaml", want: `missing_param.yaml:5: field runbooks[0].steps[0].action: needs parameter "model"`},
		{name: "bad template", file: "bad_template.yaml", want: "bad_template.yaml:7: field runbooks[0].steps[0].with.model: bad template"},
		{name: "bad aggregate", file: "bad_verify.yaml", want: `bad_verify.yaml:7: field runbooks[0].verify.aggregate: unknown aggregate "median"`},
		{name: "duplicate name", file: "duplicate.yaml", want: `duplicate.yaml:4: field runbooks[1].name: runbook "a" is defined twice`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join("testdata", tc.file)
			_, err := runbook.Load(path, registry.Check)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestDefaultRunbooks(t *testing.T) {
	f, err := runbook.Load("", registry.Check)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		cause events.Cause
		want  string
	}{
		{name: "bad model version", cause: events.Cause{Rank: 1, Kind: events.CauseModelVersion, Model: "fraud", ModelVersion: "v2"}, want: "rollback-bad-model-version"},
		{name: "model server", cause: events.Cause{Rank: 1, Kind: events.CauseService, Service: "model-server"}, want: "fail-over-to-backup-model"},
		{name: "other service", cause: events.Cause{Rank: 1, Kind: events.CauseService, Service: "gateway"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rb, _, ok := f.Select([]events.Cause{tc.cause})
			got := ""
			if ok {
				got = rb.Name
			}
			if got != tc.want {
				t.Fatalf("selected %q, want %q", got, tc.want)
			}
			if ok && (rb.Verify == nil || rb.Verify.Aggregate == "" || rb.Verify.MinPoints < 1) {
				t.Fatalf("verify block not filled in: %+v", rb.Verify)
			}
		})
	}
}
