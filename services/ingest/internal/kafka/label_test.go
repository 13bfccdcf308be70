package kafka

import (
	"fmt"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/twmb/franz-go/pkg/kfake"
)

func labelMapping(t *testing.T) *Mapping {
	t.Helper()
	cfg, err := LoadConfig("testdata/labels.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Topics[1].Mapping
}

// A label record becomes one inference.label point naming its prediction,
// stamped at the label's time; each way it can be wrong has its reason.
func TestMapLabel(t *testing.T) {
	m := labelMapping(t)
	at := time.Unix(1700000100, 0)
	tests := []struct {
		name, record, reason string
		value                float64
		time                 int64
	}{
		{name: "numeric label and time", record: `{"prediction_id":"p1","label":1,"ts":1700000000000}`, value: 1, time: 1700000000000000000},
		{name: "boolean label, record time", record: `{"prediction_id":"p2","label":false}`, value: 0, time: at.UnixNano()},
		{name: "numeric id", record: `{"prediction_id":42,"label":3.5}`, value: 3.5, time: at.UnixNano()},
		{name: "no id", record: `{"label":1}`, reason: ReasonMissingField},
		{name: "no label", record: `{"prediction_id":"p"}`, reason: ReasonMissingField},
		{name: "object id", record: `{"prediction_id":{},"label":1}`, reason: ReasonWrongType},
		{name: "text label", record: `{"prediction_id":"p","label":"fraud"}`, reason: ReasonWrongType},
		{name: "huge id", record: fmt.Sprintf(`{"prediction_id":"%0300d","label":1}`, 0), reason: ReasonOutOfRange},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pts, err := m.MapLabel([]byte(tc.record), at, "kafka/labels")
			if got := ReasonOf(err); got != tc.reason {
				t.Fatalf("reason %q (%v), want %q", got, err, tc.reason)
			}
			if tc.reason != "" {
				return
			}
			if len(pts) != 1 {
				t.Fatalf("%d points, want 1", len(pts))
			}
			p := pts[0]
			if p.Name != PointLabel || p.Value != tc.value || p.TimeUnixNano != tc.time || p.Service != "kafka/labels" ||
				p.Attributes[AttrPredictionID] == "" {
				t.Fatalf("point %+v", p)
			}
		})
	}
}

// Through Kafka: an inference record's prediction and a later label record
// reach the telemetry stream carrying the same prediction_id, the label
// stamped at its own time.
func TestLabelRecordsCarryTheirPredictionID(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, "inference", "labels"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	brokers := c.ListenAddrs()
	b := servicetest.Bus(t)
	predicted := time.Now().Add(-10 * time.Minute).UnixMilli()
	labelled := time.Now().UnixMilli()
	produce(t, brokers, "inference",
		fmt.Sprintf(`{"prediction_id":"p-7","ts":%d,"service":"model-server","model":"fraud","model_version":"v2","score":0.91}`, predicted))
	produce(t, brokers, "labels", fmt.Sprintf(`{"prediction_id":"p-7","label":0,"ts":%d}`, labelled), `{"label":1}`)
	r := startFile(t, "testdata/labels.yaml", brokers, b, func(*Options) {})

	js := b.JetStream()
	subject := events.Subject(events.TypeTelemetryPoints)
	// The label without a prediction id is counted as an invalid record.
	servicetest.Poll(t, "3 points events", func() bool { return servicetest.Count(t, js, bus.StreamTelemetry, subject) == 3 })
	servicetest.Poll(t, "every offset committed", func() bool {
		return committed(t, brokers, "inference") == 1 && committed(t, brokers, "labels") == 2
	})
	r.stop(t)
	byName := map[string]events.Point{}
	for _, ev := range servicetest.ReadEvents(t, js, bus.StreamTelemetry, subject) {
		for _, p := range servicetest.As[events.TelemetryPoints](t, ev).Points {
			byName[p.Name] = p
		}
	}
	pred, label := byName[PointPrediction], byName[PointLabel]
	if pred.Attributes[AttrPredictionID] != "p-7" || pred.ModelVersion != "v2" || pred.TimeUnixNano != predicted*1e6 {
		t.Errorf("prediction %+v: want prediction_id p-7, v2, at the prediction's time", pred)
	}
	if label.Attributes[AttrPredictionID] != "p-7" || label.Value != 0 || label.TimeUnixNano != labelled*1e6 || label.Service != "kafka/labels" {
		t.Errorf("label %+v: want prediction_id p-7, value 0, at the label's time, service kafka/labels", label)
	}
	if inv := byName[PointInvalidRecords]; inv.Attributes["topic"] != "labels" || inv.Attributes["reason"] != ReasonMissingField || inv.Service != "kafka/labels" {
		t.Errorf("invalid record %+v: want one for the labels topic, missing_field, service kafka/labels", inv)
	}
}
