package bus

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	publishedTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "medic_bus_published_total", Help: "Events published, by type.",
	}, []string{"type"})
	handledTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: MetricHandledTotal, Help: "Messages handled, by consumer and outcome (ack, retry, dead_letter).",
	}, []string{"consumer", "outcome"})
	handleSeconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name: "medic_bus_handle_seconds", Help: "Time to handle a message or batch, by consumer.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
	}, []string{"consumer"})
)

// Names of the metrics the alert rules in deploy/prometheus refer to: the
// stream usage gauges, and the handled-messages counter whose outcome
// "dead_letter" counts what went to MEDIC_DLQ.
const (
	MetricHandledTotal     = "medic_bus_handled_total"
	MetricStreamBytes      = "medic_stream_bytes"
	MetricStreamLimitBytes = "medic_stream_limit_bytes"
	MetricStreamMessages   = "medic_stream_messages"
)

var (
	streamBytes = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: MetricStreamBytes, Help: "Bytes a JetStream stream holds, by stream, as last seen by this service.",
	}, []string{"stream"})
	streamLimitBytes = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: MetricStreamLimitBytes, Help: "Byte limit of a JetStream stream (MaxBytes), by stream; past it the oldest messages are discarded.",
	}, []string{"stream"})
	streamMessages = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: MetricStreamMessages, Help: "Messages a JetStream stream holds, by stream.",
	}, []string{"stream"})
)
