package config

import (
	"errors"
	"strings"
	"testing"
)

type rule struct {
	Name      string  `yaml:"name"`
	Threshold float64 `yaml:"threshold"`
}

type doc struct {
	Rules []rule `yaml:"rules"`
}

func (d *doc) Validate() error {
	var errs []error
	for i, r := range d.Rules {
		if r.Threshold <= 0 {
			errs = append(errs, Field("must be above 0", "rules", i, "threshold"))
		}
	}
	return errors.Join(errs...)
}

func TestLoadNamesFileLineAndField(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{name: "valid", yaml: "rules:\n  - name: a\n    threshold: 1\n"},
		{name: "unknown field", yaml: "rules:\n  - name: a\n    treshold: 1\n", want: "rules.yaml:3: field treshold: unknown field"},
		{name: "bad value", yaml: "rules:\n  - name: a\n    threshold: 1\n  - name: b\n    threshold: -1\n", want: "rules.yaml:5: field rules[1].threshold: must be above 0"},
		{name: "bad type", yaml: "rules:\n  - name: a\n    threshold: high\n", want: "rules.yaml:3: cannot unmarshal"},
		{name: "not yaml", yaml: "rules: [\n", want: "rules.yaml: yaml:"},
		{name: "empty", yaml: "# nothing here\n", want: "rules.yaml: the file is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d doc
			err := Load("rules.yaml", []byte(tc.yaml), &d)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
