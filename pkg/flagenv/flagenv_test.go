package flagenv_test

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/flagenv"
)

type values struct {
	s      string
	secret string
	d      time.Duration
	f      float64
	i      int
	u      uint64
	b      bool
	bytes  int64
}

func register(fs *flag.FlagSet, v *values) {
	flagenv.StringVar(fs, &v.s, "s", "FLAGENV_S", "def", "a string")
	flagenv.SecretVar(fs, &v.secret, "secret", "FLAGENV_SECRET", "a secret")
	flagenv.DurationVar(fs, &v.d, "d", "FLAGENV_D", time.Second, "a duration")
	flagenv.FloatVar(fs, &v.f, "f", "FLAGENV_F", 0.5, "a float")
	flagenv.IntVar(fs, &v.i, "i", "FLAGENV_I", 3, "an int")
	flagenv.Uint64Var(fs, &v.u, "u", "FLAGENV_U", 7, "an unsigned int")
	flagenv.BoolVar(fs, &v.b, "b", "FLAGENV_B", false, "a bool")
	flagenv.BytesVar(fs, &v.bytes, "bytes", "FLAGENV_BYTES", 1<<20, "a size")
}

func TestEnvTwins(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		want    values
		wantErr string
	}{
		{name: "defaults", want: values{s: "def", d: time.Second, f: 0.5, i: 3, u: 7, bytes: 1 << 20}},
		{name: "env", env: map[string]string{"FLAGENV_S": "e", "FLAGENV_SECRET": "hush", "FLAGENV_D": "2s", "FLAGENV_F": "0.25",
			"FLAGENV_I": "4", "FLAGENV_U": "8", "FLAGENV_B": "true", "FLAGENV_BYTES": "2MiB"},
			want: values{s: "e", secret: "hush", d: 2 * time.Second, f: 0.25, i: 4, u: 8, b: true, bytes: 2 << 20}},
		{name: "flag wins over env", env: map[string]string{"FLAGENV_I": "4"}, args: []string{"-i", "5"},
			want: values{s: "def", d: time.Second, f: 0.5, i: 5, u: 7, bytes: 1 << 20}},
		{name: "bad env int", env: map[string]string{"FLAGENV_I": "four"}, wantErr: "FLAGENV_I"},
		{name: "bad env bool", env: map[string]string{"FLAGENV_B": "yes please"}, wantErr: "FLAGENV_B"},
		{name: "bad env duration", env: map[string]string{"FLAGENV_D": "soon"}, wantErr: "FLAGENV_D"},
		{name: "negative env uint", env: map[string]string{"FLAGENV_U": "-1"}, wantErr: "FLAGENV_U"},
		{name: "bad env size", env: map[string]string{"FLAGENV_BYTES": "lots"}, wantErr: "not a positive size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var v values
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			register(fs, &v)
			err := flagenv.Parse(fs, tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse = %v, want an error naming %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v != tt.want {
				t.Errorf("values = %+v, want %+v", v, tt.want)
			}
		})
	}
}

// A bad environment value is reported by the Parse of the flag set that
// declared it, and by no other.
func TestEnvErrorsBelongToTheirFlagSet(t *testing.T) {
	t.Setenv("FLAGENV_I", "four")
	var a, b values
	bad := flag.NewFlagSet("bad", flag.ContinueOnError)
	register(bad, &a)
	t.Setenv("FLAGENV_I", "4")
	good := flag.NewFlagSet("good", flag.ContinueOnError)
	register(good, &b)
	if err := flagenv.Parse(good, nil); err != nil {
		t.Errorf("good flag set: %v", err)
	}
	if err := flagenv.Parse(bad, nil); err == nil {
		t.Error("bad flag set parsed without error")
	}
}
