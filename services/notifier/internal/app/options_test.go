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
		{Name: "defaults", Args: []string{"--webhook-url", "http://example.test/hook"}},
		{Name: "no attempts by flag", Args: []string{"--webhook-attempts", "0"}, Want: []string{"--webhook-attempts", "WEBHOOK_ATTEMPTS"}},
		{Name: "no attempts by env", Env: map[string]string{"WEBHOOK_ATTEMPTS": "0"}, Want: []string{"--webhook-attempts", "WEBHOOK_ATTEMPTS"}},
		{Name: "unparsable env", Env: map[string]string{"WEBHOOK_TIMEOUT": "soon"}, Want: []string{"WEBHOOK_TIMEOUT"}},
	})
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
