package kafka

import "github.com/prometheus/client_golang/prometheus"

// metrics counts what the source did with each record, by topic.
type metrics struct {
	records       *prometheus.CounterVec
	rejected      *prometheus.CounterVec
	points        *prometheus.CounterVec
	publishErrors *prometheus.CounterVec
	commitErrors  prometheus.Counter
	pauses        prometheus.Counter
}

// Record results, the result label of medic_ingest_kafka_records_total.
const (
	resultPublished = "published"
	resultRejected  = "rejected"
)

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "medic_ingest_kafka_records_total", Help: "Kafka records handled, by topic and result (published, rejected); a record is counted once its offset may be committed.",
		}, []string{"topic", "result"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "medic_ingest_kafka_rejected_total", Help: "Kafka records skipped because they can never be mapped, by topic and reason.",
		}, []string{"topic", "reason"}),
		points: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "medic_ingest_kafka_points_total", Help: "Telemetry points published from Kafka records, by topic.",
		}, []string{"topic"}),
		publishErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "medic_ingest_kafka_publish_errors_total", Help: "Failed attempts to publish a record's points to JetStream (each is retried; its offset waits), by topic.",
		}, []string{"topic"}),
		commitErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "medic_ingest_kafka_commit_errors_total", Help: "Failed attempts to commit offsets (each is retried).",
		}),
		pauses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "medic_ingest_kafka_backpressure_pauses_total", Help: "Times the Kafka source stopped fetching because the archiver was behind.",
		}),
	}
	for _, c := range []prometheus.Collector{m.records, m.rejected, m.points, m.publishErrors, m.commitErrors, m.pauses} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
