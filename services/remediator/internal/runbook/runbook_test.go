package runbook_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

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
		{name: "malformed verify metric", file: "bad_verify_metric.yaml",
			want: `bad_verify_metric.yaml:6: field runbooks[0].verify.metric: metric "prediction.errors_rate / predictions_rate / requests_rate": want a metric name or "<numerator> / <denominator>"`},
		{name: "avg of a ratio", file: "bad_verify_ratio_avg.yaml",
			want: `bad_verify_ratio_avg.yaml:7: field runbooks[0].verify.aggregate: aggregate "avg" does not fit metric "prediction.errors_rate / predictions_rate": use ratio`},
		{name: "ratio of a plain metric", file: "bad_verify_ratio_plain.yaml",
			want: `bad_verify_ratio_plain.yaml:7: field runbooks[0].verify.aggregate: aggregate "ratio" does not fit metric "prediction.error"`},
		{name: "min_confidence above 1", file: "bad_min_confidence.yaml", want: "bad_min_confidence.yaml:5: field runbooks[0].match.min_confidence: must be between 0 and 1, got 1.5"},
		{name: "negative min_margin", file: "bad_min_margin.yaml", want: "bad_min_margin.yaml:3: field runbooks[0].match.min_margin: must be between 0 and 1, got -0.1"},
		{name: "negative min_duration", file: "bad_min_duration.yaml", want: "bad_min_duration.yaml:3: field runbooks[0].min_duration: must be 0s or more"},
		{name: "done_when that acts", file: "bad_done_when.yaml", want: `bad_done_when.yaml:7: field runbooks[0].steps[0].done_when.action: action "model.rollback" does not read state: use one of [model.state]`},
		{name: "done_when with two values", file: "done_when_two_values.yaml", want: "done_when_two_values.yaml:11: field runbooks[0].steps[0].done_when.equals: set exactly one of equals and not_equals"},
		{name: "duplicate name", file: "duplicate.yaml", want: `duplicate.yaml:4: field runbooks[1].name: runbook "a" is defined twice`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join("testdata", tc.file)
			_, err := runbook.Load(path, registry)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

// The defaults fit any system: they name none of the simulator's models.
func TestDefaultRunbooksNameNoModel(t *testing.T) {
	raw, err := os.ReadFile("default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "fraud") {
		t.Fatal(`default.yaml names the simulator's model "fraud"`)
	}
}

func TestDefaultRunbooks(t *testing.T) {
	f, err := runbook.Load("", registry)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		cause events.Cause
		want  string
	}{
		{name: "bad model version", cause: events.Cause{Rank: 1, Kind: events.CauseModelVersion, Model: "fraud", ModelVersion: "v2"}, want: "rollback-bad-model-version"},
		{name: "model server serving a model", cause: events.Cause{Rank: 1, Kind: events.CauseService, Service: "model-server", Model: "m"}, want: "fail-over-to-backup-model"},
		// A service cause names no model: failing over would mean guessing
		// one, so no default runbook fits and people are paged.
		{name: "model server, no model named", cause: events.Cause{Rank: 1, Kind: events.CauseService, Service: "model-server"}},
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

func TestGateAndPersistenceFields(t *testing.T) {
	tests := []struct {
		name        string
		extra       string
		wantPersist time.Duration
		wantConf    string
	}{
		{name: "defaults", wantPersist: runbook.DefaultMinDuration, wantConf: "<nil>"},
		{name: "act at once", extra: "    min_duration: 0s\n", wantPersist: 0, wantConf: "<nil>"},
		{name: "overrides", extra: "    min_duration: 45s\n    match: {min_confidence: 0.8}\n", wantPersist: 45 * time.Second, wantConf: "0.8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := "runbooks:\n  - name: a\n" + tc.extra + "    steps: [{name: s, action: model.rollback, with: {model: fraud}}]\n"
			f, err := runbook.Parse("x.yaml", []byte(raw), registry)
			if err != nil {
				t.Fatal(err)
			}
			rb := f.Runbooks[0]
			conf := "<nil>"
			if rb.Match.MinConfidence != nil {
				conf = strconv.FormatFloat(*rb.Match.MinConfidence, 'g', -1, 64)
			}
			if rb.Persistence() != tc.wantPersist || conf != tc.wantConf {
				t.Fatalf("persistence %s, min_confidence %s; want %s, %s", rb.Persistence(), conf, tc.wantPersist, tc.wantConf)
			}
		})
	}
}

// A ratio metric takes the ratio aggregate unless told otherwise; a plain
// metric keeps avg.
func TestVerifyAggregateDefaults(t *testing.T) {
	tests := []struct{ metric, want string }{
		{metric: "prediction.error", want: "avg"},
		{metric: "prediction.errors_rate / predictions_rate", want: runbook.AggregateRatio},
	}
	for _, tc := range tests {
		t.Run(tc.metric, func(t *testing.T) {
			raw := "runbooks:\n  - name: a\n    steps: [{name: s, action: model.rollback, with: {model: fraud}}]\n" +
				"    verify: {metric: " + tc.metric + ", below: 0.05, window: 5s, timeout: 10s}\n"
			f, err := runbook.Parse("x.yaml", []byte(raw), registry)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Runbooks[0].Verify.Aggregate; got != tc.want {
				t.Fatalf("aggregate = %q, want %q", got, tc.want)
			}
		})
	}
}
