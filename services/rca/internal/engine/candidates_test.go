package engine_test

import (
	"context"
	"math"
	"testing"

	"github.com/medic-sre/medic/pkg/metricexpr"
	"github.com/medic-sre/medic/services/rca/internal/analysis"
	"github.com/medic-sre/medic/services/rca/internal/engine"
	"github.com/medic-sre/medic/services/rca/internal/query"
)

// A version's served signal is its share of the symptom's mass in each
// bucket: its errors over all versions' requests, whether the symptom is a
// per-request metric (mass = points) or a ratio of rates (mass = the
// denominator's values). A bucket without requests says nothing.
func TestModelVersionsServedMass(t *testing.T) {
	tests := []struct {
		name   string
		metric string
		rows   []query.VersionBucket
		want   map[string]analysis.Series
	}{
		{name: "per-request points", metric: "prediction.error", rows: []query.VersionBucket{
			{Bucket: 10, Model: "fraud", ModelVersion: "v1", Sum: 1, Total: 40, Count: 40},
			{Bucket: 10, Model: "fraud", ModelVersion: "v2", Sum: 4, Total: 10, Count: 10},
		}, want: map[string]analysis.Series{"v1": {10: 0.02}, "v2": {10: 0.08}}},
		{name: "ratio of rates", metric: "prediction.errors_rate / predictions_rate", rows: []query.VersionBucket{
			{Bucket: 10, Model: "fraud", ModelVersion: "v1", Sum: 2, Total: 80, Count: 2},
			{Bucket: 10, Model: "fraud", ModelVersion: "v2", Sum: 10, Total: 20, Count: 2},
			{Bucket: 11, Model: "fraud", ModelVersion: "v1", Sum: 0, Total: 0, Count: 2},
		}, want: map[string]analysis.Series{"v1": {10: 0.02}, "v2": {10: 0.1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expr, err := metricexpr.Parse(tt.metric)
			if err != nil {
				t.Fatal(err)
			}
			sc := &engine.Scope{Symptom: engine.Symptom{Metric: tt.metric, Expr: expr, Service: "model-server"},
				Window: analysis.Range{From: 0, To: 20 * analysis.BucketNanos}, SymptomRows: tt.rows}
			cands, err := engine.ModelVersions(context.Background(), nil, sc)
			if err != nil {
				t.Fatal(err)
			}
			if len(cands) != len(tt.want) {
				t.Fatalf("%d candidates, want %d", len(cands), len(tt.want))
			}
			for _, c := range cands {
				got, want := c.Signals[0].X, tt.want[c.ModelVersion]
				if len(got) != len(want) {
					t.Fatalf("%s served %v, want %v", c.ModelVersion, got, want)
				}
				for b, v := range want {
					if math.Abs(got[b]-v) > 1e-12 {
						t.Fatalf("%s served %v, want %v", c.ModelVersion, got, want)
					}
				}
			}
		})
	}
}
