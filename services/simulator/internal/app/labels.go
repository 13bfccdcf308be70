package app

import (
	"log/slog"

	"github.com/medic-sre/medic/services/simulator/internal/inferencelog"
	"github.com/medic-sre/medic/services/simulator/internal/serving"
	"github.com/prometheus/client_golang/prometheus"
)

// labelLog sends each label to Kafka as it arrives, so that a system
// watching the model can join it to its prediction by id.
type labelLog struct {
	w *inferencelog.Writer
}

// newLabelLog is nil unless brokers and a labels topic are configured.
func newLabelLog(o Options, log *slog.Logger, reg prometheus.Registerer) (*labelLog, error) {
	if o.KafkaBrokers == "" || o.KafkaLabelsTopic == "" {
		return nil, nil
	}
	w := inferencelog.New(o.KafkaBrokers, o.KafkaLabelsTopic, log)
	for name, f := range map[string]func() uint64{"written": w.Written, "failed": w.Failed} {
		if err := reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "simulator_label_log_" + name + "_total",
			Help: "Label log records by outcome of their Kafka write."}, func() float64 { return float64(f()) })); err != nil {
			return nil, err
		}
	}
	log.Info("writing the label log to Kafka", "brokers", o.KafkaBrokers, "topic", o.KafkaLabelsTopic)
	return &labelLog{w: w}, nil
}

// WriteLabel is called by the serving loop as each label arrives.
func (l *labelLog) WriteLabel(lb serving.Label) {
	rec := inferencelog.LabelRecord{PredictionID: lb.PredictionID, Timestamp: lb.At.UnixMilli()}
	if lb.Fraud {
		rec.Label = 1
	}
	l.w.WriteLabel(rec)
}

// Close flushes what is queued; a nil log has nothing to flush.
func (l *labelLog) Close() error {
	if l == nil {
		return nil
	}
	return l.w.Close()
}
