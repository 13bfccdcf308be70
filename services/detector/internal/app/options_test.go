package app

import (
	"testing"

	"github.com/medic-sre/medic/pkg/flagenv/flagenvtest"
	"github.com/medic-sre/medic/services/detector/internal/detect"
	"github.com/medic-sre/medic/services/detector/internal/engine"
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
		{Name: "negative skew", Args: []string{"--max-clock-skew", "-1s"}, Want: []string{"--max-clock-skew", "MAX_CLOCK_SKEW"}},
		{Name: "negative lateness", Args: []string{"--max-lateness", "-1m"}, Want: []string{"--max-lateness", "MAX_LATENESS"}},
		{Name: "negative lateness by env", Env: map[string]string{"MAX_LATENESS": "-1m"}, Want: []string{"--max-lateness", "MAX_LATENESS"}},
		{Name: "negative step by env", Env: map[string]string{"EVAL_INTERVAL": "-1s"}, Want: []string{"--eval-interval", "EVAL_INTERVAL"}},
	})
}

func TestOptionDefaults(t *testing.T) {
	o, err := parse(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.Service.Name != "detector" || o.EvalInterval != engine.DefaultStep || o.MaxClockSkew != detect.DefaultMaxClockSkew || o.MaxLateness != detect.DefaultMaxLateness || o.RulesFile != "" {
		t.Errorf("defaults %+v", o)
	}
}
