package app

import (
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/medic-sre/medic/pkg/flagenv"
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
		{name: "no traffic", args: []string{"--rps", "0"}, want: []string{"--rps", "SIM_RPS"}},
		{name: "small buffer by env", env: map[string]string{"SIM_MAX_BUFFERED_POINTS": "10"}, want: []string{"--max-buffered-points", "SIM_MAX_BUFFERED_POINTS"}},
		{name: "negative seed by env", env: map[string]string{"SIM_SEED": "-1"}, want: []string{"SIM_SEED"}},
		{name: "negative seed by flag", args: []string{"--seed", "-1"}, want: []string{"seed"}},
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
	if o.Service.Name != "simulator" || o.ControlAddr != ":8090" || o.RPS != 50 || o.Seed != 1 || o.FlushInterval.String() != "250ms" || o.LabelDelay.String() != "5s" || o.StatsKeep.String() != "5m0s" || o.MaxBufferedPoints != 200000 {
		t.Errorf("defaults %+v", o)
	}
}
