package bus

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
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

// Metrics are one bus's Prometheus metrics. Each bus has its own, registered
// on the registry it is given, so that two buses in one process (two
// services in a test) count apart and do not collide.
type Metrics struct {
	published        *prometheus.CounterVec
	handled          *prometheus.CounterVec
	handleSeconds    *prometheus.HistogramVec
	streamBytes      *prometheus.GaugeVec
	streamLimitBytes *prometheus.GaugeVec
	streamMessages   *prometheus.GaugeVec
}

// NewMetrics makes the bus's metrics and registers them on r; a nil r
// registers them nowhere (they still count, for a bus nobody scrapes).
func NewMetrics(r prometheus.Registerer) *Metrics {
	f := promauto.With(r)
	return &Metrics{
		published: f.NewCounterVec(prometheus.CounterOpts{
			Name: "medic_bus_published_total", Help: "Events published, by type.",
		}, []string{"type"}),
		handled: f.NewCounterVec(prometheus.CounterOpts{
			Name: MetricHandledTotal, Help: "Messages handled, by consumer and outcome (ack, retry, later, dead_letter, returned: handed back unstarted at shutdown).",
		}, []string{"consumer", "outcome"}),
		handleSeconds: f.NewHistogramVec(prometheus.HistogramOpts{
			Name: "medic_bus_handle_seconds", Help: "Time to handle a message or batch, by consumer.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
		}, []string{"consumer"}),
		streamBytes: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: MetricStreamBytes, Help: "Bytes a JetStream stream holds, by stream, as last seen by this service.",
		}, []string{"stream"}),
		streamLimitBytes: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: MetricStreamLimitBytes, Help: "Byte limit of a JetStream stream (MaxBytes), by stream; past it the oldest messages are discarded.",
		}, []string{"stream"}),
		streamMessages: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: MetricStreamMessages, Help: "Messages a JetStream stream holds, by stream.",
		}, []string{"stream"}),
	}
}

// SetMetrics makes the bus count on m in place of the unregistered metrics
// Connect gives it; call it before Setup (the service runtime passes
// metrics registered on its own registry).
func (b *Bus) SetMetrics(m *Metrics) { b.metrics = m }
