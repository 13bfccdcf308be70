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
		{name: "defaults", args: []string{"--webhook-url", "http://example.test/hook"}},
		{name: "no attempts by flag", args: []string{"--webhook-attempts", "0"}, want: []string{"--webhook-attempts", "WEBHOOK_ATTEMPTS"}},
		{name: "no attempts by env", env: map[string]string{"WEBHOOK_ATTEMPTS": "0"}, want: []string{"--webhook-attempts", "WEBHOOK_ATTEMPTS"}},
		{name: "unparsable env", env: map[string]string{"WEBHOOK_TIMEOUT": "soon"}, want: []string{"WEBHOOK_TIMEOUT"}},
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
	if o.Service.Name != "notifier" || o.Webhook.Attempts != 3 || o.Webhook.Timeout.String() != "10s" || o.Webhook.Backoff.String() != "500ms" || o.Webhook.MaxRetryAfter.String() != "30s" {
		t.Errorf("defaults %+v", o)
	}
}
