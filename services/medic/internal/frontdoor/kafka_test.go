package frontdoor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
)

const (
	kafkaGroup       = "medic-ingest-frontdoor"
	kafkaPartitions  = 2
	telemetryTopic   = "fd-telemetry"
	inferenceTopic   = "fd-inference"
	telemetryRecords = 20
	inferenceRecords = 30
)

// kafkaTopics is the ingest service's KAFKA_CONFIG: Medic's telemetry JSON
// on one topic, an inference log read through a mapping on the other.
const kafkaTopics = `topics:
  - name: fd-telemetry
    format: telemetry
  - name: fd-inference
    format: inference
    source: fraud-serving
    mapping:
      service: service
      default_service: fd-kafka-model
      model: model.name
      version: model.version
      latency_ms: latency_ms
      prediction: output.score
      timestamp: ts
      timestamp_unit: ms
      features: [features.amount, features.merchant_risk]
`

// TestKafka produces telemetry and inference-log records to a Kafka
// cluster (kfake) that a stack of its own reads, and finds their rows in
// ClickHouse; the consumer group's offsets must never run ahead of what
// is on the bus, and end at the number of records produced.
func TestKafka(t *testing.T) {
	integration(t)
	t.Parallel()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(kafkaPartitions, telemetryTopic, inferenceTopic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close) // after the stack's own cleanup, which runs first
	brokers := cluster.ListenAddrs()
	config := filepath.Join(t.TempDir(), "topics.yaml")
	if err := os.WriteFile(config, []byte(kafkaTopics), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDoor(t, "KAFKA_BROKERS="+strings.Join(brokers, ","), "KAFKA_CONFIG="+config, "KAFKA_GROUP="+kafkaGroup)

	var telemetry, inference []string
	now := time.Now()
	for i := range telemetryRecords {
		telemetry = append(telemetry, fmt.Sprintf(`{"source":"fd-kafka","points":[{"name":"kafka_marker","value":%d,"time_unix_nano":%d,`+
			`"service":"fd-kafka-telemetry","attributes":{"marker":"%d"}}]}`, i, now.UnixNano()+int64(i), i))
	}
	for i := range inferenceRecords {
		inference = append(inference, fmt.Sprintf(`{"ts":%d,"model":{"name":"fraud","version":"v7"},"latency_ms":%d,`+
			`"output":{"score":0.93},"features":{"amount":120.5}}`, now.UnixMilli()+int64(i), 10+i))
	}
	produce(t, brokers, telemetryTopic, telemetry)
	produce(t, brokers, inferenceTopic, inference)

	eventually(t, rowsTimeout, func() string {
		committed := committedOffsets(t, brokers)
		if m := uncommittedAhead(d.eventIDs(t), committed); m != "" {
			t.Fatal(m) // a commit ahead of the bus is never right, however long we wait
		}
		var short []string
		for topic, want := range map[string]int64{telemetryTopic: telemetryRecords, inferenceTopic: inferenceRecords} {
			var sum int64
			for _, off := range committed[topic] {
				sum += off
			}
			if sum != want {
				short = append(short, fmt.Sprintf("%s: %d of %d offsets committed (%v)", topic, sum, want, committed[topic]))
			}
		}
		return strings.Join(short, "; ")
	})
	eventually(t, rowsTimeout, func() string { return wrongKafkaTelemetry(d.metrics(t, "fd-kafka-telemetry")) })
	eventually(t, rowsTimeout, func() string { return wrongInference(d.metrics(t, "fd-kafka-model")) })
}

// produce writes values to topic with kafka-go, spread over the partitions.
func produce(t *testing.T, brokers []string, topic string, values []string) {
	t.Helper()
	w := &kafkago.Writer{Addr: kafkago.TCP(brokers...), Topic: topic, Balancer: &kafkago.RoundRobin{},
		BatchTimeout: 10 * time.Millisecond, RequiredAcks: kafkago.RequireAll}
	defer func() { _ = w.Close() }() // WriteMessages has returned: nothing is left to flush
	msgs := make([]kafkago.Message, len(values))
	for i, v := range values {
		msgs[i] = kafkago.Message{Value: []byte(v)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("produce to %s: %v", topic, err)
	}
}

// committedOffsets is the group's committed offset of each partition of
// both topics (0 where it has none).
func committedOffsets(t *testing.T, brokers []string) map[string][]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	parts := make([]int, kafkaPartitions)
	for i := range parts {
		parts[i] = i
	}
	c := &kafkago.Client{Addr: kafkago.TCP(brokers...), Timeout: 10 * time.Second}
	resp, err := c.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: kafkaGroup,
		Topics: map[string][]int{telemetryTopic: parts, inferenceTopic: parts}})
	if err != nil {
		t.Fatalf("offset fetch: %v", err)
	}
	if resp.Error != nil {
		t.Fatalf("offset fetch: %v", resp.Error)
	}
	out := map[string][]int64{}
	for _, topic := range []string{telemetryTopic, inferenceTopic} {
		out[topic] = make([]int64, kafkaPartitions)
		for _, p := range resp.Topics[topic] {
			if p.Error != nil {
				t.Fatalf("offset fetch %s/%d: %v", topic, p.Partition, p.Error)
			}
			out[topic][p.Partition] = max(p.CommittedOffset, 0)
		}
	}
	return out
}

// uncommittedAhead names the committed records whose event is not on the
// bus. The ingest service derives a record's event id from its topic,
// partition and offset; committed was read before the bus, so every
// record below a committed offset must already be there.
func uncommittedAhead(onBus map[string]bool, committed map[string][]int64) string {
	var ahead []string
	for topic, offsets := range committed {
		for p, off := range offsets {
			for o := range off {
				id := events.DerivedID("kafka", topic, strconv.Itoa(p), strconv.FormatInt(o, 10), "0")
				if !onBus[id] {
					ahead = append(ahead, fmt.Sprintf("%s/%d@%d", topic, p, o))
				}
			}
		}
	}
	if len(ahead) == 0 {
		return ""
	}
	return fmt.Sprintf("offsets committed before their records were on the bus: %v", ahead)
}

// eventIDs are the ids of the telemetry.points events on the bus.
func (d *door) eventIDs(t *testing.T) map[string]bool {
	ids := map[string]bool{}
	for _, ev := range d.telemetry(t, events.TypeTelemetryPoints) {
		ids[ev.Meta.ID] = true
	}
	return ids
}

// wrongKafkaTelemetry checks one kafka_marker row per telemetry record.
func wrongKafkaTelemetry(rows []metricRow) string {
	var markers []string
	for _, r := range rows {
		if r.Name != "kafka_marker" || r.Attrs["marker"] != strconv.Itoa(int(r.Value)) {
			return fmt.Sprintf("unexpected row %s of fd-kafka-telemetry", r)
		}
		markers = append(markers, r.Attrs["marker"])
	}
	var missing []int
	for i := range telemetryRecords {
		if !slices.Contains(markers, strconv.Itoa(i)) {
			missing = append(missing, i)
		}
	}
	if len(missing) > 0 || len(rows) != telemetryRecords {
		return fmt.Sprintf("%d kafka_marker rows, want %d; missing markers %v", len(rows), telemetryRecords, missing)
	}
	return ""
}

// wrongInference checks the points each inference record becomes.
func wrongInference(rows []metricRow) string {
	counts := map[string]int{}
	latencies := map[float64]bool{}
	for _, r := range rows {
		if r.Model != "fraud" || r.ModelVersion != "v7" {
			return fmt.Sprintf("row %s: want model fraud v7", r)
		}
		counts[r.Name]++
		if r.Name == "inference.latency_ms" {
			latencies[r.Value] = true
		}
	}
	var wrong []string
	for _, name := range []string{"inference.latency_ms", "inference.prediction", "feature.amount",
		"feature.merchant_risk.missing", "inference.features_missing"} {
		if counts[name] != inferenceRecords {
			wrong = append(wrong, fmt.Sprintf("%s: %d rows, want %d", name, counts[name], inferenceRecords))
		}
	}
	var missing []int
	for i := range inferenceRecords {
		if !latencies[float64(10+i)] {
			missing = append(missing, 10+i)
		}
	}
	if len(missing) > 0 {
		wrong = append(wrong, fmt.Sprintf("no inference.latency_ms row of the records with latency %v", missing))
	}
	return strings.Join(wrong, "; ")
}
