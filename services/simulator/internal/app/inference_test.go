package app

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
)

// With Kafka brokers configured every prediction goes to the inference
// log, keyed by its trace id, with null for a feature the feature-service
// did not serve and for the score of a failed prediction.
func TestInferenceLog(t *testing.T) {
	const topic = "inference-log"
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	brokers := cluster.ListenAddrs()
	s := startSim(t, "http/protobuf", func(o *Options) { o.KafkaBrokers, o.KafkaTopic = brokers[0], topic })
	if code := call(t, "POST", s.control+"/v1/faults", "", `{"kind":"feature_nulls"}`, nil); code != 200 {
		t.Fatalf("inject answered %d", code)
	}

	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: brokers, Topic: topic, Partition: 0, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	type record struct {
		PredictionID string              `json:"prediction_id"`
		Service      string              `json:"service"`
		Model        string              `json:"model"`
		ModelVersion string              `json:"model_version"`
		Score        *float64            `json:"score"`
		Error        string              `json:"error"`
		Features     map[string]*float64 `json:"features"`
	}
	var nulls int
	keys := map[string]bool{}
	for nulls < 5 {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("read the inference log (%d nulls so far): %v", nulls, err)
		}
		var rec record
		if err := json.Unmarshal(m.Value, &rec); err != nil {
			t.Fatalf("record %s: %v", m.Value, err)
		}
		if string(m.Key) != rec.PredictionID || len(rec.PredictionID) != 32 || rec.Service != "model-server" ||
			rec.Model != "fraud" || rec.ModelVersion != "v1" || rec.Features["amount"] == nil || rec.Features["account_age_days"] == nil {
			t.Fatalf("record key %q: %s", m.Key, m.Value)
		}
		if _, ok := rec.Features["merchant_risk"]; !ok {
			t.Fatalf("record without merchant_risk: %s", m.Value)
		}
		if rec.Features["merchant_risk"] == nil {
			nulls++
			if rec.Score != nil || rec.Error == "" {
				t.Fatalf("a prediction without merchant_risk has a score or no error: %s", m.Value)
			}
		}
		keys[rec.PredictionID] = true
	}
	// The prediction ids are the requests' trace ids.
	pollFor(t, "a gateway span of a logged prediction", 10*time.Second, func() bool {
		for _, sp := range s.otlp.allSpans() {
			if sp.service == "gateway" && keys[sp.traceID] {
				return true
			}
		}
		return false
	})
	// The program's own metrics count the records Kafka took.
	pollFor(t, "simulator_inference_log_written_total above 0", 10*time.Second, func() bool {
		resp, err := http.Get(s.base + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		for _, line := range strings.Split(string(body), "\n") {
			if v, ok := strings.CutPrefix(line, "simulator_inference_log_written_total "); ok {
				n, _ := strconv.ParseFloat(v, 64)
				return n > 0
			}
		}
		return false
	})
}
