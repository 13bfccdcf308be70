package app

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/outcome"
	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/services/rca/internal/engine"
)

// An incident whose symptom no analysis can read is settled for good (dead
// lettered with its reason), not retried; the analysis fails before any
// query, so no ClickHouse is needed.
func TestUnreadableSymptomIsPermanent(t *testing.T) {
	h := &handler{rt: &service.Runtime{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, engine: engine.New(nil, engine.DefaultConfig)}
	tests := []struct {
		name      string
		anomalies []events.AnomalyRef
	}{
		{name: "no metric", anomalies: []events.AnomalyRef{{AnomalyID: "a1", Service: "gateway"}}},
		{name: "malformed ratio", anomalies: []events.AnomalyRef{{AnomalyID: "a1", Metric: "request.errors_rate / ", Service: "gateway"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := h.analyse(context.Background(), engine.Task{IncidentID: "inc-1", Anomalies: tt.anomalies}, 0)
			if !outcome.IsPermanent(err) {
				t.Fatalf("analyse = %v, want a permanent error", err)
			}
		})
	}
}
