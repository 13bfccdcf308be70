package engine_test

import (
	"errors"
	"testing"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/metricexpr"
	"github.com/medic-sre/medic/services/rca/internal/engine"
)

func TestSymptomOfParsesTheMetric(t *testing.T) {
	tests := []struct {
		name    string
		metric  string
		want    metricexpr.Expr
		wantErr error
	}{
		{name: "plain metric", metric: "prediction.error", want: metricexpr.Expr{Numerator: "prediction.error"}},
		{name: "ratio rule", metric: "prediction.errors_rate / predictions_rate",
			want: metricexpr.Expr{Numerator: "prediction.errors_rate", Denominator: "predictions_rate"}},
		{name: "ratio missing its denominator", metric: "prediction.errors_rate /", wantErr: engine.ErrBadSymptom},
		{name: "three metrics", metric: "a / b / c", wantErr: engine.ErrBadSymptom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			task := engine.Task{Anomalies: []events.AnomalyRef{{AnomalyID: "a1", Metric: tt.metric, Service: "model-server", StartedUnixNano: 1}}}
			got, err := engine.SymptomOf(task)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("SymptomOf: %v, want %v", err, tt.wantErr)
			}
			if err == nil && (got.Expr != tt.want || got.Metric != tt.metric) {
				t.Fatalf("symptom = %+v, want %+v from %q", got, tt.want, tt.metric)
			}
		})
	}
}
