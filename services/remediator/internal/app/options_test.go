package app

import (
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/medic-sre/medic/pkg/flagenv"
	"github.com/medic-sre/medic/services/remediator/internal/gate"
	"github.com/medic-sre/medic/services/remediator/internal/remediate"
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
		{name: "dry run", args: []string{"--dry-run"}},
		{name: "serving url", env: map[string]string{"SERVING_URL": "http://serving.test"}},
		{name: "nothing to act on", want: []string{"--serving-url", "SERVING_URL", "--dry-run"}},
		{name: "confidence above 1", args: []string{"--dry-run", "--min-confidence", "1.5"}, want: []string{"--min-confidence", "MIN_CONFIDENCE"}},
		{name: "negative margin by env", env: map[string]string{"MIN_MARGIN": "-0.1", "DRY_RUN": "true"}, want: []string{"--min-margin", "MIN_MARGIN"}},
		{name: "unparsable env", env: map[string]string{"MIN_CONFIDENCE": "high"}, want: []string{"MIN_CONFIDENCE"}},
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
	o, err := parse(t, nil, "--dry-run")
	if err != nil {
		t.Fatal(err)
	}
	if o.Service.Name != "remediator" || o.ActionTimeout.String() != "10s" || o.VerifyInterval.String() != "1s" || o.MinConfidence != gate.DefaultMinConfidence || o.MinMargin != gate.DefaultMinMargin || o.IncidentWait != remediate.DefaultIncidentWait {
		t.Errorf("defaults %+v", o)
	}
}
