package backlog

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics show what the watcher last saw.
type metrics struct {
	pending *prometheus.GaugeVec
	fill    prometheus.Gauge
	on      prometheus.Gauge
	stale   prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "medic_ingest_backlog_pending",
			Help: "Telemetry events an archiver consumer has not acked yet (NumPending + NumAckPending), by consumer; a consumer that does not exist has no series.",
		}, []string{"consumer"}),
		fill: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "medic_ingest_backlog_unread_fill",
			Help: "Share of the telemetry stream's byte limit filled by messages an archiver consumer has not read, at most over the consumers.",
		}),
		on: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "medic_ingest_backpressure",
			Help: "1 while the ingest service pushes back on telemetry senders because the archiver is behind, else 0.",
		}),
		stale: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "medic_ingest_backlog_stale",
			Help: "1 while the last look at the archiver's backlog failed (NATS down), so that the verdict is an older one.",
		}),
	}
	for _, c := range []prometheus.Collector{m.pending, m.fill, m.on, m.stale} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("backlog metrics: %w", err)
		}
	}
	return m, nil
}

// observe shows one successful look.
func (m *metrics) observe(v verdict, cs []consumerView) {
	m.pending.Reset()
	for _, c := range cs {
		m.pending.WithLabelValues(c.name).Set(float64(c.pending))
	}
	m.fill.Set(v.fill)
	m.on.Set(0)
	if v.behind {
		m.on.Set(1)
	}
	m.stale.Set(0)
}
