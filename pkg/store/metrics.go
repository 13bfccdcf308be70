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
		Name: "medic_store_rows_dropped_total", Help: "Buffered rows dropped while ClickHouse was unreachable, by table.",
	}, []string{"table"})
	flushErrors = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "medic_store_flush_errors_total", Help: "Failed batch inserts, by table.",
	}, []string{"table"})
)
