package app

import (
	"testing"

	"github.com/medic-sre/medic/pkg/flagenv/flagenvtest"
)

// parse registers the flags as main does and parses args; env applies first.
func parse(t *testing.T, env map[string]string, args ...string) (Options, error) {
	t.Helper()
	var o Options
	err := flagenvtest.Parse(t, &o, env, args...)
	return o, err
}

// The flags keep the names, env twins and defaults the README and the
// deploy manifests use, and a bad value is refused naming the flag and its
// env twin, whichever of the two the operator set.
func TestOptions(t *testing.T) {
	flagenvtest.Run(t, func() *Options { return &Options{} }, []flagenvtest.Case{
		{Name: "defaults"},
		{Name: "no traffic", Args: []string{"--rps", "0"}, Want: []string{"--rps", "SIM_RPS"}},
		{Name: "small buffer by env", Env: map[string]string{"SIM_MAX_BUFFERED_POINTS": "10"}, Want: []string{"--max-buffered-points", "SIM_MAX_BUFFERED_POINTS"}},
		{Name: "negative seed by env", Env: map[string]string{"SIM_SEED": "-1"}, Want: []string{"SIM_SEED"}},
		{Name: "negative seed by flag", Args: []string{"--seed", "-1"}, Want: []string{"seed"}},
	})
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
