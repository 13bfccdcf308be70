package kafka

import (
	"strings"
	"testing"
)

// Every mistake in the topics file is reported with the file, the line and
// the field's path, as pkg/config reports them.
func TestConfigErrorsNameFileLineAndField(t *testing.T) {
	const head = "topics:\n  - name: inference\n    format: inference\n    mapping:\n"
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{name: "valid", yaml: head + "      default_service: svc\n      latency_ms: latency\n"},
		{name: "unknown field", yaml: head + "      default_service: svc\n      latency: latency\n",
			want: []string{"kafka.yaml:6: field latency: unknown field"}},
		{name: "bad unit", yaml: head + "      default_service: svc\n      latency_ms: l\n      timestamp_unit: minutes\n",
			want: []string{"kafka.yaml:7: field topics[0].mapping.timestamp_unit: unit \"minutes\""}},
		{name: "no service", yaml: head + "      latency_ms: l\n",
			want: []string{"kafka.yaml:5: field topics[0].mapping.service: give the service's field or a default_service"}},
		{name: "empty path segment", yaml: head + "      default_service: svc\n      prediction: output..score\n",
			want: []string{"kafka.yaml:6: field topics[0].mapping.prediction: path \"output..score\" has an empty segment"}},
		{name: "feature names collide", yaml: head + "      default_service: svc\n      features:\n        - a.amount\n        - b.amount\n",
			want: []string{"kafka.yaml:8: field topics[0].mapping.features[1]: feature name \"amount\""}},
		{name: "nothing mapped", yaml: head + "      default_service: svc\n",
			want: []string{"kafka.yaml:5: field topics[0].mapping: map at least one of"}},
		{name: "unknown format", yaml: "topics:\n  - name: t\n    format: avro\n",
			want: []string{"kafka.yaml:3: field topics[0].format: format \"avro\""}},
		{name: "inference without mapping", yaml: "topics:\n  - name: t\n    format: inference\n",
			want: []string{"kafka.yaml:2: field topics[0].mapping: an inference topic needs a mapping"}},
		{name: "two errors", yaml: "topics:\n  - name: t\n    format: telemetry\n  - name: t\n    format: json\n",
			want: []string{"kafka.yaml:4: field topics[1].name: topic \"t\" is listed twice", "kafka.yaml:5: field topics[1].format"}},
		{name: "label topic", yaml: "topics:\n  - name: l\n    format: label\n    mapping:\n      prediction_id: id\n      label: y\n"},
		{name: "label without id", yaml: "topics:\n  - name: l\n    format: label\n    mapping:\n      label: y\n",
			want: []string{"kafka.yaml:5: field topics[0].mapping.prediction_id: a label topic needs the prediction id's field"}},
		{name: "label with a prediction", yaml: "topics:\n  - name: l\n    format: label\n    mapping:\n      prediction_id: id\n      label: y\n      prediction: score\n",
			want: []string{"kafka.yaml:7: field topics[0].mapping.prediction: a label topic has no prediction"}},
		{name: "label without mapping", yaml: "topics:\n  - name: l\n    format: label\n",
			want: []string{"kafka.yaml:2: field topics[0].mapping: a label topic needs a mapping"}},
		{name: "wrong type", yaml: head + "      default_service: svc\n      features: amount\n",
			want: []string{"kafka.yaml:6: cannot unmarshal"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig("kafka.yaml", []byte(tc.yaml))
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadConfigFile(t *testing.T) {
	cfg, err := LoadConfig("testdata/topics.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Topics) != 2 || cfg.Topics[1].SourceName() != "fraud-serving" || cfg.Topics[0].SourceName() != "kafka/telemetry" {
		t.Fatalf("topics %+v", cfg.Topics)
	}
}
