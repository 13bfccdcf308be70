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
		Name: "medic_bus_handled_total", Help: "Messages handled, by consumer and outcome (ack, retry, dead_letter).",
	}, []string{"consumer", "outcome"})
	handleSeconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name: "medic_bus_handle_seconds", Help: "Time to handle a message or batch, by consumer.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
	}, []string{"consumer"})
)
