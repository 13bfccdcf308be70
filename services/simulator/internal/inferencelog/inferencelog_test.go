package inferencelog

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
)

const topic = "inference-log"

// startKafka runs an in-process Kafka cluster (kfake) with the topic.
func startKafka(t *testing.T) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// readBack reads n messages of the topic from its start.
func readBack(t *testing.T, brokers []string, n int) []kafkago.Message {
	t.Helper()
	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: brokers, Topic: topic, Partition: 0, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []kafkago.Message
	for len(out) < n {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("read %d of %d records: %v", len(out), n, err)
		}
		out = append(out, m)
	}
	return out
}

func float(f float64) *float64 { return &f }

// Each prediction is one JSON record keyed by its prediction id; a feature
// the feature-service could not serve is null, and so is the score of a
// failed prediction.
func TestRecordsReachKafka(t *testing.T) {
	brokers := startKafka(t)
	w := New(strings.Join(brokers, ","), topic, slog.New(slog.DiscardHandler))
	records := []struct {
		rec  Record
		want string
	}{
		{rec: Record{PredictionID: "4bf92f3577b34da6a3ce929d0e0e4736", Timestamp: 1_700_000_000_123, Service: "model-server",
			Model: "fraud", ModelVersion: "v1", LatencyMs: 21.5, Score: float(0.25),
			Features: map[string]*float64{"amount": float(60), "account_age_days": float(400), "merchant_risk": float(0.5)}},
			want: `{"prediction_id":"4bf92f3577b34da6a3ce929d0e0e4736","ts":1700000000123,"service":"model-server","model":"fraud",` +
				`"model_version":"v1","latency_ms":21.5,"score":0.25,"features":{"account_age_days":400,"amount":60,"merchant_risk":0.5}}`},
		{rec: Record{PredictionID: "00f067aa0ba902b7a3ce929d0e0e4736", Timestamp: 1_700_000_000_456, Service: "model-server",
			Model: "fraud", ModelVersion: "v2", LatencyMs: 30, Error: "missing feature merchant_risk",
			Features: map[string]*float64{"amount": float(12.5), "account_age_days": float(3), "merchant_risk": nil}},
			want: `{"prediction_id":"00f067aa0ba902b7a3ce929d0e0e4736","ts":1700000000456,"service":"model-server","model":"fraud",` +
				`"model_version":"v2","latency_ms":30,"score":null,"error":"missing feature merchant_risk",` +
				`"features":{"account_age_days":3,"amount":12.5,"merchant_risk":null}}`},
	}
	for _, r := range records {
		w.Write(r.rec)
	}
	// Close flushes what the asynchronous writer queued.
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Written() != uint64(len(records)) || w.Failed() != 0 {
		t.Fatalf("written %d, failed %d, want %d written", w.Written(), w.Failed(), len(records))
	}
	got := readBack(t, brokers, len(records))
	for i, m := range got {
		if string(m.Key) != records[i].rec.PredictionID {
			t.Errorf("record %d key %q, want the prediction id %q", i, m.Key, records[i].rec.PredictionID)
		}
		if !sameJSON(t, m.Value, records[i].want) {
			t.Errorf("record %d\n%s\nwant\n%s", i, m.Value, records[i].want)
		}
	}
}

// sameJSON compares two JSON documents, ignoring key order.
func sameJSON(t *testing.T, got []byte, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(g)
	b, _ := json.Marshal(w)
	return string(a) == string(b)
}
