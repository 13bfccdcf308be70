package store

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics are one store's Prometheus metrics. Each store has its own,
// registered on the registry it is given, so that two stores in one process
// (two services in a test) count apart and do not collide.
type Metrics struct {
	rowsWritten  *prometheus.CounterVec
	rowsDropped  *prometheus.CounterVec
	flushErrors  *prometheus.CounterVec
	rowsSpilled  *prometheus.CounterVec
	rowsReplayed *prometheus.CounterVec
	spillBytes   *prometheus.GaugeVec
}

// NewMetrics makes the store's metrics and registers them on r; a nil r
// registers them nowhere (they still count, for a store nobody scrapes).
func NewMetrics(r prometheus.Registerer) *Metrics {
	f := promauto.With(r)
	return &Metrics{
		rowsWritten: f.NewCounterVec(prometheus.CounterOpts{
			Name: "medic_store_rows_written_total", Help: "Rows inserted into ClickHouse, by table.",
		}, []string{"table"}),
		rowsDropped: f.NewCounterVec(prometheus.CounterOpts{
			Name: "medic_store_rows_dropped_total", Help: "Buffered rows dropped while ClickHouse was unreachable (memory and spill directory both full, or a spill file unreadable), by table.",
		}, []string{"table"}),
		flushErrors: f.NewCounterVec(prometheus.CounterOpts{
			Name: "medic_store_flush_errors_total", Help: "Failed batch inserts (including attempts refused because ClickHouse did not answer), by table.",
		}, []string{"table"}),
		rowsSpilled: f.NewCounterVec(prometheus.CounterOpts{
			Name: "medic_store_rows_spilled_total", Help: "Rows a batch writer moved from memory to its spill directory, by table.",
		}, []string{"table"}),
		rowsReplayed: f.NewCounterVec(prometheus.CounterOpts{
			Name: "medic_store_rows_replayed_total", Help: "Spilled rows inserted into ClickHouse after an outage, by table.",
		}, []string{"table"}),
		spillBytes: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "medic_store_spill_bytes", Help: "Bytes of rows waiting in spill directories, by table.",
		}, []string{"table"}),
	}
}

// SetMetrics makes the store count on m in place of the unregistered
// metrics Open gives it; call it before any insert or batch writer (the
// service runtime passes metrics registered on its own registry).
func (s *Store) SetMetrics(m *Metrics) { s.metrics = m }
