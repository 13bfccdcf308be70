package store

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	rowsWritten = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "medic_store_rows_written_total", Help: "Rows inserted into ClickHouse, by table.",
	}, []string{"table"})
	rowsDropped = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "medic_store_rows_dropped_total", Help: "Buffered rows dropped while ClickHouse was unreachable (memory and spill directory both full, or a spill file unreadable), by table.",
	}, []string{"table"})
	flushErrors = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "medic_store_flush_errors_total", Help: "Failed batch inserts (including attempts refused because ClickHouse did not answer), by table.",
	}, []string{"table"})
	rowsSpilled = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "medic_store_rows_spilled_total", Help: "Rows a batch writer moved from memory to its spill directory, by table.",
	}, []string{"table"})
	rowsReplayed = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "medic_store_rows_replayed_total", Help: "Spilled rows inserted into ClickHouse after an outage, by table.",
	}, []string{"table"})
	spillBytes = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "medic_store_spill_bytes", Help: "Bytes of rows waiting in spill directories, by table.",
	}, []string{"table"})
)
