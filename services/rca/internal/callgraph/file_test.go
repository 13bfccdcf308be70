package callgraph

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestLoad(t *testing.T) {
	tests := []struct {
		name, yaml string
		wantErr    []string
		wantCalls  map[string][]string
	}{
		{name: "calls", yaml: "calls:\n  frontend: [search, checkout]\n  checkout: [payments]\n",
			wantCalls: map[string][]string{"frontend": {"search", "checkout"}, "checkout": {"payments"}}},
		{name: "empty callee", yaml: "calls:\n  frontend: [search]\n  checkout:\n    - payments\n    - \"\"\n",
			wantErr: []string{"graph.yaml:5: field calls.checkout[1]: empty callee name"}},
		{name: "unknown field", yaml: "calls:\n  a: [b]\ncallz: {}\n", wantErr: []string{"graph.yaml:3:", "callz", "unknown field"}},
		{name: "no calls", yaml: "calls: {}\n", wantErr: []string{"graph.yaml:1: field calls: no calls"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "graph.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			g, err := Load(path)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("no error, want %q", tt.wantErr)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for caller, callees := range tt.wantCalls {
				got := slices.Clone(g.Callees(caller))
				slices.Sort(got)
				want := slices.Clone(callees)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("callees of %s = %v, want %v", caller, got, want)
				}
			}
		})
	}
}
