package detect

import (
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/detector/internal/engine"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	pointsTotal = promauto.NewCounter(prometheus.CounterOpts{
		Name: "medic_detector_points_total", Help: "Telemetry points fed to the rule engine.",
	})
	firedTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "medic_detector_anomalies_fired_total", Help: "anomaly.detected events published, by rule.",
	}, []string{"rule"})
	resolvedTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "medic_detector_anomalies_resolved_total", Help: "anomaly.resolved events published, by rule.",
	}, []string{"rule"})
	rejectedTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "medic_detector_points_rejected_total", Help: "Telemetry points not evaluated, by reason (future: stamped past the clock plus --max-clock-skew; not_finite: NaN or infinite value).",
	}, []string{"reason"})
	seriesGauge = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "medic_detector_series", Help: "Alert series (rule x group) held in memory.",
	})
)

// Reasons of medic_detector_points_rejected_total.
const (
	ReasonFuture    = "future"
	ReasonNotFinite = "not_finite"
)

func countEmission(em engine.Emission) {
	switch d := em.Data.(type) {
	case events.AnomalyDetected:
		firedTotal.WithLabelValues(d.Rule).Inc()
	case events.AnomalyResolved:
		resolvedTotal.WithLabelValues(d.Rule).Inc()
	}
}
