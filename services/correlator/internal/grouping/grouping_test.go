package grouping

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/medic-sre/medic/pkg/events"
)

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		file    string // empty: the embedded defaults
		want    []string
		wantErr string
	}{
		{name: "embedded defaults", want: []string{"model"}},
		{name: "valid file", file: "valid.yaml", want: []string{"service", "model"}},
		{name: "unknown field", file: "unknown_field.yaml", wantErr: "unknown_field.yaml:2: field group_wait: unknown field"},
		{name: "duplicate label", file: "duplicate_label.yaml", wantErr: `duplicate_label.yaml:3: field group_by[1]: label "model" is listed twice`},
		{name: "empty group_by", file: "empty.yaml", wantErr: "empty.yaml:1: field group_by: must name at least one label"},
		{name: "missing file", file: "absent.yaml", wantErr: "absent.yaml: no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.file != "" {
				path = filepath.Join("testdata", tc.file)
			}
			c, err := Load(path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Load(%q) error = %v, want it to contain %q", path, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load(%q): %v", path, err)
			}
			if !reflect.DeepEqual(c.GroupBy, tc.want) {
				t.Fatalf("group_by = %v, want %v", c.GroupBy, tc.want)
			}
		})
	}
}

func TestKey(t *testing.T) {
	fraud := events.AnomalyDetected{Service: "model-server", Model: "fraud", ModelVersion: "v2",
		Labels: map[string]string{"region": "eu"}}
	tests := []struct {
		name    string
		groupBy []string
		anomaly events.AnomalyDetected
		want    string
	}{
		{name: "by model", groupBy: []string{"model"}, anomaly: fraud, want: "model=fraud"},
		{name: "by service and model", groupBy: []string{"service", "model"}, anomaly: fraud, want: "service=model-server,model=fraud"},
		{name: "by version", groupBy: []string{"model_version"}, anomaly: fraud, want: "model_version=v2"},
		{name: "by a free label", groupBy: []string{"model", "region"}, anomaly: fraud, want: "model=fraud,region=eu"},
		{name: "no model falls back to service", groupBy: []string{"model"},
			anomaly: events.AnomalyDetected{Service: "gateway"}, want: "service=gateway"},
		{name: "missing free label falls back to service", groupBy: []string{"model", "zone"}, anomaly: fraud, want: "service=model-server"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{GroupBy: tc.groupBy}
			if got := c.Key(tc.anomaly); got != tc.want {
				t.Fatalf("Key = %q, want %q", got, tc.want)
			}
		})
	}
}
