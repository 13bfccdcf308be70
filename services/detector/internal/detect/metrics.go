package detect

import (
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/detector/internal/engine"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Reasons of medic_detector_points_rejected_total.
const (
	ReasonFuture    = "future"
	ReasonTooOld    = "too_old"
	ReasonNotFinite = "not_finite"
	ReasonBadBucket = "bad_bucket"
	ReasonLate      = "late"
	ReasonDuplicate = "duplicate"
	ReasonOverLimit = "series_limit"
)

// Metrics are one detector's Prometheus metrics, registered on the registry
// it is given (the service runtime's), so that two detectors in one process
// count apart.
type Metrics struct {
	points   prometheus.Counter
	fired    *prometheus.CounterVec
	resolved *prometheus.CounterVec
	rejected *prometheus.CounterVec
	series   prometheus.Gauge
	limit    prometheus.Gauge
}

// NewMetrics makes the detector's metrics and registers them on r; a nil r
// registers them nowhere.
func NewMetrics(r prometheus.Registerer) *Metrics {
	f := promauto.With(r)
	return &Metrics{
		points: f.NewCounter(prometheus.CounterOpts{
			Name: "medic_detector_points_total", Help: "Telemetry points fed to the rule engine.",
		}),
		fired: f.NewCounterVec(prometheus.CounterOpts{
			Name: "medic_detector_anomalies_fired_total", Help: "anomaly.detected events published, by rule.",
		}, []string{"rule"}),
		resolved: f.NewCounterVec(prometheus.CounterOpts{
			Name: "medic_detector_anomalies_resolved_total", Help: "anomaly.resolved events published, by rule.",
		}, []string{"rule"}),
		rejected: f.NewCounterVec(prometheus.CounterOpts{
			Name: "medic_detector_points_rejected_total", Help: "Telemetry points not evaluated, by reason (future: stamped past the clock plus --max-clock-skew; too_old: stamped before the clock less --max-lateness, i.e. backfill; not_finite: NaN or infinite value; bad_bucket: histogram bucket whose le is not a number; late: older than every window still to be evaluated, or for an ML rule (drift, missing_rate, out_of_range, volume, canary) for a window it had judged already; duplicate: a repeat of one of the last points of an ML rule's series; series_limit: would have started an alert series past --max-series).",
		}, []string{"reason"}),
		series: f.NewGauge(prometheus.GaugeOpts{
			Name: "medic_detector_series", Help: "Alert series (rule x group) held in memory.",
		}),
		limit: f.NewGauge(prometheus.GaugeOpts{
			Name: "medic_detector_series_limit", Help: "The most alert series the detector holds (--max-series); 0 is no limit.",
		}),
	}
}

func (m *Metrics) countEmission(em engine.Emission) {
	switch d := em.Data.(type) {
	case events.AnomalyDetected:
		m.fired.WithLabelValues(d.Rule).Inc()
	case events.AnomalyResolved:
		m.resolved.WithLabelValues(d.Rule).Inc()
	}
}
