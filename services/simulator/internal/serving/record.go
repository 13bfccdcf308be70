package serving

import (
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/simulator/internal/model"
)

// record turns a request into its telemetry points, its stats entry and,
// for a scored request, the label that arrives LabelDelay later.
func (p *Pipeline) record(r Result) {
	p.Stats.Record(r.At, r.LatencyMs, r.Failed())
	p.Points.Add(Points(r)...)
	if r.Failed() {
		return
	}
	correct := 0.0
	if (r.Prediction.Score >= 0.5) == r.Fraud {
		correct = 1
	}
	label := point(r, ModelServer, "label.correct", correct)
	p.Points.AddLabel(r.At.Add(p.LabelDelay), label)
}

// Points are the points a request leaves at its arrival time, per tier.
func Points(r Result) []events.Point {
	f := r.Features
	pts := []events.Point{
		point(r, Gateway, "request.latency_ms", r.LatencyMs),
		point(r, Gateway, "request.error", bit(r.Failed())),
		point(r, FeatureService, "feature.latency_ms", r.FeatureMs),
		point(r, FeatureService, "feature.missing_ratio", f.MissingRatio()),
		point(r, FeatureService, "feature.amount", f.Amount),
		point(r, FeatureService, "feature.account_age_days", f.AccountAgeDays),
	}
	if f.MerchantRisk != nil {
		pts = append(pts, point(r, FeatureService, "feature.merchant_risk", *f.MerchantRisk))
	}
	pts = append(pts,
		point(r, ModelServer, "prediction.latency_ms", r.Prediction.LatencyMs),
		point(r, ModelServer, "prediction.error", bit(r.Failed())))
	if !r.Failed() {
		pts = append(pts, point(r, ModelServer, "prediction.score", r.Prediction.Score))
	}
	return pts
}

func point(r Result, service, name string, v float64) events.Point {
	return events.Point{Name: name, Value: v, TimeUnixNano: r.At.UnixNano(), Service: service,
		Model: model.Name, ModelVersion: r.Version}
}

func bit(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
