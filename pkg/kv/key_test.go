package kv_test

import (
	"context"
	"regexp"
	"testing"

	"github.com/medic-sre/medic/pkg/kv"
)

// valid is what JetStream accepts as a key, and no dots at all: every
// escaped key is one subject token.
var valid = regexp.MustCompile(`^[-/_=a-zA-Z0-9]+$`)

func TestEscape(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{name: "uuid unchanged", in: "5f0e9a3c-2d4b-5c1e-9f7a-0b1c2d3e4f50", want: "5f0e9a3c-2d4b-5c1e-9f7a-0b1c2d3e4f50"},
		{name: "hex fingerprint unchanged", in: "0123456789abcdef0123456789abcdef", want: "0123456789abcdef0123456789abcdef"},
		{name: "readable group key", in: "model=fraud", want: "model=fraud"},
		{name: "slash stands", in: "a/b", want: "a/b"},
		{name: "comma and dot escaped", in: "service=a.b,model=x", want: "service=a_2Eb_2Cmodel=x"},
		{name: "escape character escaped", in: "a_b", want: "a_5Fb"},
		{name: "empty", in: "", want: "_"},
		{name: "unicode", in: "é", want: "_C3_A9"},
		{name: "space", in: "a b", want: "a_20b"},
		{name: "wildcards", in: "a*b>", want: "a_2Ab_3E"},
		{name: "leading dot", in: ".x", want: "_2Ex"},
	}
	seen := map[string]string{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := kv.Escape(tc.in)
			if got != tc.want || !valid.MatchString(got) {
				t.Fatalf("Escape(%q) = %q, want %q (and a valid KV key)", tc.in, got, tc.want)
			}
			if back, ok := kv.Unescape(got); !ok || back != tc.in {
				t.Fatalf("Unescape(%q) = %q, %v; want %q", got, back, ok, tc.in)
			}
			if other, dup := seen[got]; dup {
				t.Fatalf("Escape(%q) = Escape(%q) = %q", tc.in, other, got)
			}
			seen[got] = tc.in
		})
	}
}

// Keys no Escape makes are refused by Unescape, so that one stored key
// never stands for two strings.
func TestUnescapeRefuses(t *testing.T) {
	for _, k := range []string{"", "a.b", "_", "_4", "_4g", "_4a", "a_", "x_zz", "a b"} {
		got, ok := kv.Unescape(k)
		if ok && kv.Escape(got) != k {
			t.Errorf("Unescape(%q) = %q, which escapes to %q", k, got, kv.Escape(got))
		}
	}
	if _, ok := kv.Unescape("_4a"); ok {
		t.Error("Unescape accepted lower-case hex")
	}
}

func FuzzEscape(f *testing.F) {
	for _, k := range hostileKeys {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k := kv.Escape(s)
		if !valid.MatchString(k) {
			t.Fatalf("Escape(%q) = %q, not a valid key", s, k)
		}
		if back, ok := kv.Unescape(k); !ok || back != s {
			t.Fatalf("Unescape(Escape(%q)) = %q, %v", s, back, ok)
		}
	})
}

// Records the previous version stored under its raw keys (UUIDs, hex
// fingerprints, the correlator's escaped keys) are found under the same
// strings after the upgrade.
func TestKeysOfThePreviousVersionAreFound(t *testing.T) {
	ctx := context.Background()
	js := startJetStream(t)
	cfg := kv.Config{Bucket: "upgrade"}
	s, err := kv.OpenText(ctx, kv.JetStream(js), cfg)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := js.KeyValue(ctx, cfg.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	old := map[string]string{ // the string the old code used: the key it wrote
		"5f0e9a3c-2d4b-5c1e-9f7a-0b1c2d3e4f50": "5f0e9a3c-2d4b-5c1e-9f7a-0b1c2d3e4f50",
		"0123456789abcdef0123456789abcdef":     "0123456789abcdef0123456789abcdef",
		"model=fraud":                          "model=fraud",
		"service=a.b,model=x":                  "service=a_2Eb_2Cmodel=x",
		"a.1":                                  "a_2E1",
	}
	for in, key := range old {
		if _, err := raw.PutString(ctx, key, "v-"+in); err != nil {
			t.Fatal(err)
		}
	}
	for in := range old {
		if e, err := s.Get(ctx, in); err != nil || e.Value != "v-"+in {
			t.Errorf("Get(%q) = %q, %v; want what the previous version stored", in, e.Value, err)
		}
	}
}
