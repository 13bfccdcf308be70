package app

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
)

// With a labels topic, each label goes to Kafka when it arrives: it names
// a prediction of the inference log, says 0 or 1, and is stamped the label
// delay after that prediction.
func TestLabelLog(t *testing.T) {
	const topic, labels = "inference-log", "labels"
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topic, labels))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	brokers := cluster.ListenAddrs()
	const delay = 300 * time.Millisecond
	startSim(t, "http/protobuf", func(o *Options) {
		o.KafkaBrokers, o.KafkaTopic, o.KafkaLabelsTopic, o.LabelDelay = brokers[0], topic, labels, delay
	})

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	type prediction struct {
		PredictionID string   `json:"prediction_id"`
		Timestamp    int64    `json:"ts"`
		Score        *float64 `json:"score"`
	}
	type label struct {
		PredictionID string `json:"prediction_id"`
		Label        *int   `json:"label"`
		Timestamp    int64  `json:"ts"`
	}
	predicted := map[string]int64{}
	pr := kafkago.NewReader(kafkago.ReaderConfig{Brokers: brokers, Topic: topic, Partition: 0, MaxWait: 100 * time.Millisecond})
	defer pr.Close()
	lr := kafkago.NewReader(kafkago.ReaderConfig{Brokers: brokers, Topic: labels, Partition: 0, MaxWait: 100 * time.Millisecond})
	defer lr.Close()
	var got []label
	for len(got) < 50 {
		m, err := lr.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("read the label log (%d labels so far): %v", len(got), err)
		}
		var l label
		if err := json.Unmarshal(m.Value, &l); err != nil {
			t.Fatalf("label %s: %v", m.Value, err)
		}
		if string(m.Key) != l.PredictionID || l.Label == nil || (*l.Label != 0 && *l.Label != 1) {
			t.Fatalf("label key %q: %s", m.Key, m.Value)
		}
		got = append(got, l)
	}
	// Every label's prediction is in the inference log, scored, the label
	// delay earlier.
	for _, l := range got {
		for predicted[l.PredictionID] == 0 {
			m, err := pr.ReadMessage(ctx)
			if err != nil {
				t.Fatalf("read the inference log for %s: %v", l.PredictionID, err)
			}
			var p prediction
			if err := json.Unmarshal(m.Value, &p); err != nil {
				t.Fatal(err)
			}
			if p.Score != nil {
				predicted[p.PredictionID] = p.Timestamp
			}
		}
		if lag := time.Duration(l.Timestamp-predicted[l.PredictionID]) * time.Millisecond; lag < delay || lag > delay+time.Second {
			t.Fatalf("label of %s stamped %v after its prediction, want the %v delay", l.PredictionID, lag, delay)
		}
	}
}
