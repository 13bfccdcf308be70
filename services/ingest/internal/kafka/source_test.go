package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
)

const (
	group      = "medic-ingest"
	partitions = 2
)

// startKafka runs an in-process Kafka cluster (kfake) with the test topics.
func startKafka(t *testing.T) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, "telemetry", "inference"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// produce writes records to topic with kafka-go's Writer, spread over the
// partitions.
func produce(t *testing.T, brokers []string, topic string, values ...string) {
	t.Helper()
	w := &kafkago.Writer{Addr: kafkago.TCP(brokers...), Topic: topic, Balancer: &kafkago.RoundRobin{},
		BatchTimeout: 10 * time.Millisecond, RequiredAcks: kafkago.RequireAll}
	defer w.Close()
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

// committed is the group's committed offsets on topic, summed over the
// partitions (a partition with none counts 0): the number of records the
// group has done with.
func committed(t *testing.T, brokers []string, topic string) int64 {
	t.Helper()
	c := &kafkago.Client{Addr: kafkago.TCP(brokers...), Timeout: 10 * time.Second}
	resp, err := c.OffsetFetch(context.Background(), &kafkago.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: {0, 1}}})
	if err != nil {
		t.Fatalf("offset fetch: %v", err)
	}
	var n int64
	for _, p := range resp.Topics[topic] {
		n += max(p.CommittedOffset, 0)
	}
	return n
}

// running is a source running in the background.
type running struct {
	src    *Source
	reg    *prometheus.Registry
	cancel context.CancelFunc
	done   chan struct{} // closed when Run has returned err
	err    error
}

// stop ends the source and waits for Run to return.
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case <-r.done:
		if r.err != nil {
			t.Fatalf("run: %v", r.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the source did not stop")
	}
}

// start runs a source over testdata/topics.yaml that publishes with pub.
func start(t *testing.T, brokers []string, pub Publisher) *running {
	t.Helper()
	return startWith(t, brokers, pub, func(*Options) {})
}

// startWith is start with options changed by set.
func startWith(t *testing.T, brokers []string, pub Publisher, set func(*Options)) *running {
	t.Helper()
	return startFile(t, "testdata/topics.yaml", brokers, pub, set)
}

// startFile is startWith over the topics file at path.
func startFile(t *testing.T, path string, brokers []string, pub Publisher, set func(*Options)) *running {
	t.Helper()
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	opts := Options{Brokers: brokers, GroupID: group, BatchSize: 50, BatchWait: 20 * time.Millisecond,
		MaxWait: 100 * time.Millisecond, SessionTimeout: 6 * time.Second, RebalanceTimeout: 2 * time.Second}
	opts.Retry.Initial, opts.Retry.Max = 10*time.Millisecond, 100*time.Millisecond
	set(&opts)
	src, err := New(opts, cfg, pub, reg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{src: src, reg: reg, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = src.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

func telemetryRecord(i int) string {
	return fmt.Sprintf(`{"source":"sim","points":[{"name":"request.latency_ms","value":%d,"time_unix_nano":%d,"service":"gateway"}]}`,
		i, time.Now().UnixNano())
}

func inferenceRecord(i int) string {
	return fmt.Sprintf(`{"ts":%d,"model":{"name":"fraud","version":"v2"},"latency_ms":%d.5,"output":{"score":0.93},"features":{"amount":120}}`,
		time.Now().UnixMilli(), i)
}

// Records of both formats become points events on the telemetry stream,
// one per record with its points; records that can never be mapped are
// counted by reason and skipped; and every offset is committed once the
// records are on the stream.
func TestRecordsBecomePointsAndOffsetsAreCommitted(t *testing.T) {
	brokers := startKafka(t)
	b := servicetest.Bus(t)
	produce(t, brokers, "telemetry", telemetryRecord(1), telemetryRecord(2), `{"points":`, `{"name":"x","value":1,"time_unix_nano":1,"service":"s","bogus":1}`)
	produce(t, brokers, "inference", inferenceRecord(1), inferenceRecord(2), inferenceRecord(3),
		`{"ts":1,"latency_ms":"fast"}`, "{\"latency_ms\":1,\"service\":\"\xff\"}", `{"ts":1e300,"latency_ms":1}`)
	r := start(t, brokers, b)

	js := b.JetStream()
	subject := events.Subject(events.TypeTelemetryPoints)
	// 5 events of points, and one point for each of the 3 unmappable
	// inference records (telemetry records have no service to count for).
	servicetest.Poll(t, "8 points events", func() bool { return servicetest.Count(t, js, bus.StreamTelemetry, subject) == 8 })
	servicetest.Poll(t, "every offset committed", func() bool {
		return committed(t, brokers, "telemetry") == 4 && committed(t, brokers, "inference") == 6
	})
	r.stop(t)

	var inference []events.TelemetryPoints
	invalid := map[string]int{}
	for _, ev := range servicetest.ReadEvents(t, js, bus.StreamTelemetry, subject) {
		tp := servicetest.As[events.TelemetryPoints](t, ev)
		if tp.Source != "fraud-serving" {
			continue
		}
		if p := tp.Points[0]; p.Name == PointInvalidRecords {
			if len(tp.Points) != 1 || p.Value != 1 || p.Service == "" || p.Attributes["topic"] != "inference" {
				t.Errorf("invalid-record event %+v: want one point of 1 for the topic's service", tp)
			}
			invalid[p.Attributes["reason"]]++
			continue
		}
		inference = append(inference, tp)
	}
	if want := map[string]int{ReasonWrongType: 1, ReasonInvalidUTF8: 1, ReasonBadTimestamp: 1}; !maps.Equal(invalid, want) {
		t.Errorf("invalid-record points by reason %v, want %v", invalid, want)
	}
	if len(inference) != 3 {
		t.Fatalf("%d inference events, want 3", len(inference))
	}
	names := map[string]bool{}
	for _, p := range inference[0].Points {
		names[p.Name] = true
		if p.Service != "model-server" || p.Model != "fraud" || p.ModelVersion != "v2" {
			t.Errorf("point %+v: want model-server, fraud v2", p)
		}
	}
	for _, n := range []string{PointLatency, PointPrediction, "feature.amount", "feature.merchant_risk.missing", PointFeaturesMissing} {
		if !names[n] {
			t.Errorf("no %s point in %v", n, names)
		}
	}
	rejected := map[[2]string]float64{
		{"telemetry", ReasonMalformedJSON}: 1, {"telemetry", ReasonWrongType}: 1,
		{"inference", ReasonWrongType}: 1, {"inference", ReasonInvalidUTF8}: 1, {"inference", ReasonBadTimestamp}: 1,
	}
	for k, want := range rejected {
		if got := testutil.ToFloat64(r.src.metrics.rejected.WithLabelValues(k[0], k[1])); got != want {
			t.Errorf("rejected{topic=%s,reason=%s} = %v, want %v", k[0], k[1], got, want)
		}
	}
}

// failing publishes through the bus until ok turns false, then fails every
// publish as a JetStream outage would.
type failing struct {
	b     *bus.Bus
	ok    atomic.Int64 // publishes left to pass
	tried atomic.Int64
}

func (f *failing) Emit(ctx context.Context, id string, d events.Data) (events.Meta, error) {
	f.tried.Add(1)
	if f.ok.Add(-1) < 0 {
		return events.Meta{}, errors.New("jetstream down")
	}
	return f.b.Emit(ctx, id, d)
}

// While publishing fails, no offset moves, even for the records of the
// batch that did reach the stream; a reader started after the outage reads
// the records again, and the stream ends with each record's event exactly
// once: nothing acknowledged is lost and nothing is doubled.
func TestOffsetsWaitForPublish(t *testing.T) {
	brokers := startKafka(t)
	b := servicetest.Bus(t)
	const n = 20
	var recs []string
	for i := range n {
		recs = append(recs, telemetryRecord(i))
	}
	produce(t, brokers, "telemetry", recs...)
	pub := &failing{b: b}
	pub.ok.Store(5)
	r := start(t, brokers, pub)
	servicetest.Poll(t, "publishes retried after the outage began", func() bool { return pub.tried.Load() > n+5 })
	if got := committed(t, brokers, "telemetry"); got != 0 {
		t.Fatalf("%d offsets committed while publishing failed, want 0", got)
	}
	r.stop(t)
	if got := committed(t, brokers, "telemetry"); got != 0 {
		t.Fatalf("%d offsets committed after stopping mid-outage, want 0", got)
	}
	js := b.JetStream()
	subject := events.Subject(events.TypeTelemetryPoints)
	if got := servicetest.Count(t, js, bus.StreamTelemetry, subject); got != 5 {
		t.Fatalf("%d events on the stream during the outage, want the 5 acknowledged", got)
	}

	start(t, brokers, b)
	servicetest.Poll(t, "every offset committed after the outage", func() bool { return committed(t, brokers, "telemetry") == n })
	if got := servicetest.Count(t, js, bus.StreamTelemetry, subject); got != n {
		t.Fatalf("%d events on the stream, want %d: one per record, redeliveries folded", got, n)
	}
	seen := map[float64]bool{}
	for _, ev := range servicetest.ReadEvents(t, js, bus.StreamTelemetry, subject) {
		seen[servicetest.As[events.TelemetryPoints](t, ev).Points[0].Value] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct records on the stream, want %d", len(seen), n)
	}
}
