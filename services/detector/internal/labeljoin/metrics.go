package labeljoin

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics count what the join did with predictions and labels.
type Metrics struct {
	remembered, joined, unmatched prometheus.Counter
	dropped                       *prometheus.CounterVec
}

// NewMetrics makes the join's metrics and registers them on r; a nil r
// registers them nowhere.
func NewMetrics(r prometheus.Registerer) *Metrics {
	f := promauto.With(r)
	return &Metrics{
		remembered: f.NewCounter(prometheus.CounterOpts{
			Name: "medic_detector_predictions_remembered_total", Help: "Predictions with a prediction_id kept for their labels.",
		}),
		dropped: f.NewCounterVec(prometheus.CounterOpts{
			Name: "medic_detector_predictions_dropped_total", Help: "Predictions not kept for their labels, by reason (full: the prediction store is at --label-store-max-bytes; bad_id: the id is too long to be a key). Their labels count as unmatched.",
		}, []string{"reason"}),
		joined: f.NewCounter(prometheus.CounterOpts{
			Name: "medic_detector_labels_joined_total", Help: "Labels joined to their prediction.",
		}),
		unmatched: f.NewCounter(prometheus.CounterOpts{
			Name: "medic_detector_labels_unmatched_total", Help: "Labels whose prediction is unknown: never seen, older than the label window, dropped from a full store, or labelled already.",
		}),
	}
}
