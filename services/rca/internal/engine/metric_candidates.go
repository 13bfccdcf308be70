package engine

import (
	"context"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/rca/internal/analysis"
	"github.com/medic-sre/medic/services/rca/internal/query"
)

// SameMetric proposes every other service that reports the symptom's
// metric, with that metric as its signal: for a system known only by its
// metrics (no spans), a callee's latency or availability in the symptom's
// own units is the evidence there is. A missing point is unknown, not 0
// (a Gauge signal). The symptom's own service is left out: its copy of the
// metric is the symptom itself, which correlates perfectly by
// construction; its own faults show in its span signals (Services).
func SameMetric(ctx context.Context, r *query.Reader, sc *Scope) ([]analysis.Candidate, error) {
	if sc.Symptom.Span != "" || sc.Symptom.Expr.IsRatio() || sc.Symptom.Expr.Numerator == "" {
		return nil, nil
	}
	rows, err := r.MetricByService(ctx, sc.Symptom.Expr.Numerator, sc.span())
	if err != nil {
		return nil, err
	}
	byService := map[string]analysis.Series{}
	for _, m := range rows {
		if m.Service == sc.Symptom.Service {
			continue
		}
		if byService[m.Service] == nil {
			byService[m.Service] = analysis.Series{}
		}
		byService[m.Service][m.Bucket] = m.Value
	}
	out := make([]analysis.Candidate, 0, len(byService))
	for service, x := range byService {
		out = append(out, analysis.Candidate{Kind: events.CauseService, ID: "service:" + service, Service: service, Specificity: 1,
			Signals: []analysis.Signal{{Name: "same_metric", X: x, Weight: analysis.WeightService, Gauge: true}}})
	}
	return out, nil
}
