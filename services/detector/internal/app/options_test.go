package app

import (
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/medic-sre/medic/pkg/flagenv"
	"github.com/medic-sre/medic/services/detector/internal/detect"
	"github.com/medic-sre/medic/services/detector/internal/engine"
)

// parse registers the flags as main does and parses args; env applies first.
func parse(t *testing.T, env map[string]string, args ...string) (Options, error) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	var o Options
	fs := flag.NewFlagSet(Name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o.RegisterFlags(fs)
	if err := flagenv.Parse(fs, args); err != nil {
		return o, err
	}
	return o, o.Validate()
}

// The flags keep the names, env twins and defaults the README and the
// deploy manifests use, and a bad value is refused naming the flag and its
// env twin, whichever of the two the operator set.
func TestOptions(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want []string // in the error; none: valid
	}{
		{name: "defaults"},
		{name: "negative skew", args: []string{"--max-clock-skew", "-1s"}, want: []string{"--max-clock-skew", "MAX_CLOCK_SKEW"}},
		{name: "negative step by env", env: map[string]string{"EVAL_INTERVAL": "-1s"}, want: []string{"--eval-interval", "EVAL_INTERVAL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, tt.env, tt.args...)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("error %v, want none", err)
				}
				return
			}
			for _, w := range tt.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error %v, want it to name %q", err, w)
				}
			}
		})
	}
}

func TestOptionDefaults(t *testing.T) {
	o, err := parse(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.Service.Name != "detector" || o.EvalInterval != engine.DefaultStep || o.MaxClockSkew != detect.DefaultMaxClockSkew || o.RulesFile != "" {
		t.Errorf("defaults %+v", o)
	}
}
