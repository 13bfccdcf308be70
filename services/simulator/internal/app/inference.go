package app

import (
	"log/slog"

	"github.com/medic-sre/medic/services/simulator/internal/inferencelog"
	"github.com/medic-sre/medic/services/simulator/internal/model"
	"github.com/medic-sre/medic/services/simulator/internal/serving"
	"github.com/prometheus/client_golang/prometheus"
)

// inferenceLog sends each prediction to Kafka when brokers are configured;
// otherwise it does nothing.
type inferenceLog struct {
	w *inferencelog.Writer
}

func newInferenceLog(o Options, log *slog.Logger, reg prometheus.Registerer) (*inferenceLog, error) {
	if o.KafkaBrokers == "" {
		return &inferenceLog{}, nil
	}
	w := inferencelog.New(o.KafkaBrokers, o.KafkaTopic, log)
	for name, f := range map[string]func() uint64{"written": w.Written, "failed": w.Failed} {
		if err := reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "simulator_inference_log_" + name + "_total",
			Help: "Inference log records by outcome of their Kafka write."}, func() float64 { return float64(f()) })); err != nil {
			return nil, err
		}
	}
	log.Info("writing the inference log to Kafka", "brokers", o.KafkaBrokers, "topic", o.KafkaTopic)
	return &inferenceLog{w: w}, nil
}

// Write is called by the serving loop, one goroutine, for every request.
func (l *inferenceLog) Write(r serving.Result) {
	if l.w == nil {
		return
	}
	rec := inferencelog.Record{PredictionID: r.ID, Timestamp: r.At.UnixMilli(), Service: serving.ModelServer,
		Model: model.Name, ModelVersion: r.Version, LatencyMs: r.Prediction.LatencyMs,
		Features: map[string]*float64{"amount": &r.Features.Amount, "account_age_days": &r.Features.AccountAgeDays,
			"merchant_risk": r.Features.MerchantRisk}}
	if r.Failed() {
		rec.Error = r.Prediction.Err.Error()
	} else {
		rec.Score = &r.Prediction.Score
	}
	l.w.Write(rec)
}

func (l *inferenceLog) Close() error {
	if l.w == nil {
		return nil
	}
	return l.w.Close()
}
