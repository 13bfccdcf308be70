// Package flagenvtest checks a service's options the way its main parses
// them: flags with env twins, then Validate. Every service's options test
// uses it, so the cases are all that differs between them.
package flagenvtest

import (
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/medic-sre/medic/pkg/flagenv"
)

// Options is what a service's internal/app Options offers.
type Options interface {
	RegisterFlags(fs *flag.FlagSet)
	Validate() error
}

// Parse registers o's flags as main does, sets env (for the test only),
// parses args and validates.
func Parse(t *testing.T, o Options, env map[string]string, args ...string) error {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o.RegisterFlags(fs)
	if err := flagenv.Parse(fs, args); err != nil {
		return err
	}
	return o.Validate()
}

// Case is one way of configuring a service.
type Case struct {
	Name string
	Env  map[string]string
	Args []string
	// Want are the words the error must name (the flag and its env twin);
	// none means the options are valid.
	Want []string
}

// Run checks each case on a fresh Options from newOptions.
func Run[O Options](t *testing.T, newOptions func() O, cases []Case) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			err := Parse(t, newOptions(), tc.Env, tc.Args...)
			if len(tc.Want) == 0 {
				if err != nil {
					t.Fatalf("error %v, want none", err)
				}
				return
			}
			for _, w := range tc.Want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error %v, want it to name %q", err, w)
				}
			}
		})
	}
}
