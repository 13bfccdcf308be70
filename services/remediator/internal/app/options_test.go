package app

import (
	"testing"

	"github.com/medic-sre/medic/pkg/flagenv/flagenvtest"
	"github.com/medic-sre/medic/services/remediator/internal/gate"
	"github.com/medic-sre/medic/services/remediator/internal/remediate"
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
		{Name: "dry run", Args: []string{"--dry-run"}},
		{Name: "serving url", Env: map[string]string{"SERVING_URL": "http://serving.test"}},
		{Name: "nothing to act on", Want: []string{"--serving-url", "SERVING_URL", "--dry-run"}},
		{Name: "confidence above 1", Args: []string{"--dry-run", "--min-confidence", "1.5"}, Want: []string{"--min-confidence", "MIN_CONFIDENCE"}},
		{Name: "negative margin by env", Env: map[string]string{"MIN_MARGIN": "-0.1", "DRY_RUN": "true"}, Want: []string{"--min-margin", "MIN_MARGIN"}},
		{Name: "unparsable env", Env: map[string]string{"MIN_CONFIDENCE": "high"}, Want: []string{"MIN_CONFIDENCE"}},
	})
}

func TestOptionDefaults(t *testing.T) {
	o, err := parse(t, nil, "--dry-run")
	if err != nil {
		t.Fatal(err)
	}
	if o.Service.Name != "remediator" || o.ActionTimeout.String() != "10s" || o.VerifyInterval.String() != "1s" || o.MinConfidence != gate.DefaultMinConfidence || o.MinMargin != gate.DefaultMinMargin || o.IncidentWait != remediate.DefaultIncidentWait {
		t.Errorf("defaults %+v", o)
	}
}
