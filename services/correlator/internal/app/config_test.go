package app

import (
	"context"
	"flag"
	"strings"
	"testing"
)

// A bad --config stops the correlator before it connects to anything, with
// the file, line and field in the error.
func TestBadConfigFailsAtStart(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  string
		want string
	}{
		{name: "flag", args: []string{"--config", "testdata/unknown_field.yaml"}, want: "testdata/unknown_field.yaml:2: field group_interval: unknown field"},
		{name: "env twin", env: "testdata/unknown_field.yaml", want: "testdata/unknown_field.yaml:2: field group_interval"},
		{name: "missing file", args: []string{"--config", "testdata/absent.yaml"}, want: "absent.yaml: no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("CORRELATOR_CONFIG", tc.env)
			}
			var o Options
			fs := flag.NewFlagSet(Name, flag.ContinueOnError)
			o.RegisterFlags(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			// NATS and ClickHouse point nowhere: the error must come first.
			o.Service.NATSURL, o.Service.ClickHouse.Addr = "nats://127.0.0.1:1", "127.0.0.1:1"
			err := Run(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
