package app_test

import (
	"flag"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/medic-sre/medic/services/rca/internal/app"
)

// A bad duration, given as a flag or in its env twin, is reported with the
// flag, the env variable, the value and what is allowed.
func TestValidateNamesTheBadOption(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want []string // substrings of the error; none means valid
	}{
		{name: "defaults are valid"},
		{name: "zero where zero makes sense", args: []string{"--settle=0s", "--window-lead=0s", "--change-lookback=0s"}},
		{name: "one-second baseline", args: []string{"--baseline=1s", "--min-baseline=1s"}},
		{name: "no minimum baseline", args: []string{"--min-baseline=0s", "--min-baseline-points=0"}},
		{name: "minimum longer than the baseline", args: []string{"--baseline=20s"},
			want: []string{"--min-baseline (env RCA_MIN_BASELINE) is 30s: must be at most --baseline (env RCA_BASELINE), 20s"}},
		{name: "negative minimum baseline env", env: map[string]string{"RCA_MIN_BASELINE": "-1s"},
			want: []string{"--min-baseline (env RCA_MIN_BASELINE) is -1s: must be 0"}},
		{name: "negative minimum points flag", args: []string{"--min-baseline-points=-5"},
			want: []string{"--min-baseline-points (env RCA_MIN_BASELINE_POINTS) is -5: must be 0 or more"}},
		{name: "negative settle flag", args: []string{"--settle=-1s"},
			want: []string{"--settle (env RCA_SETTLE) is -1s: must be 0 (analyse at once) or more"}},
		{name: "negative window lead flag", args: []string{"--window-lead=-30s"},
			want: []string{"--window-lead (env RCA_WINDOW_LEAD) is -30s: must be 0"}},
		{name: "zero baseline env", env: map[string]string{"RCA_BASELINE": "0s"},
			want: []string{"--baseline (env RCA_BASELINE) is 0s: must be at least 1s"}},
		{name: "sub-second baseline flag", args: []string{"--baseline=500ms"},
			want: []string{"--baseline (env RCA_BASELINE) is 500ms: must be at least 1s"}},
		{name: "negative change lookback env", env: map[string]string{"RCA_CHANGE_LOOKBACK": "-10m"},
			want: []string{"--change-lookback (env RCA_CHANGE_LOOKBACK) is -10m0s: must be 0"}},
		{name: "zero analysis window env", env: map[string]string{"RCA_MAX_ANALYSIS_WINDOW": "0s"},
			want: []string{"--max-analysis-window (env RCA_MAX_ANALYSIS_WINDOW) is 0s: must be at least 1s"}},
		{name: "call graph file", args: []string{"--call-graph=testdata/call-graph.yaml"}},
		{name: "call graph file with an empty callee", env: map[string]string{"RCA_CALL_GRAPH": "testdata/call-graph-bad.yaml"},
			want: []string{"--call-graph (env RCA_CALL_GRAPH): testdata/call-graph-bad.yaml:5: field calls.api[1]: empty callee name"}},
		{name: "missing call graph file", args: []string{"--call-graph=testdata/nope.yaml"},
			want: []string{"--call-graph (env RCA_CALL_GRAPH)", "nope.yaml", "no such file"}},
		{name: "every bad value is reported", args: []string{"--settle=-2s", "--baseline=-5m"},
			want: []string{"--settle (env RCA_SETTLE) is -2s", "--baseline (env RCA_BASELINE) is -5m0s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The shell running the tests must not decide the defaults.
			for _, k := range []string{"RCA_SETTLE", "RCA_WINDOW_LEAD", "RCA_BASELINE", "RCA_CHANGE_LOOKBACK", "RCA_MIN_BASELINE", "RCA_MIN_BASELINE_POINTS", "RCA_MAX_ANALYSIS_WINDOW", "RCA_CALL_GRAPH"} {
				t.Setenv(k, "")
				os.Unsetenv(k)
			}
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			err := validate(t, tt.args)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want an error with %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

// validate declares the flags (reading their env twins), parses args and
// validates the result, as main does.
func validate(t *testing.T, args []string) error {
	t.Helper()
	var opts app.Options
	fs := flag.NewFlagSet("rca", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	opts.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return opts.Validate()
}
