package app

import (
	"context"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/nats-io/nats.go/jetstream"
)

// checkTelemetry reads points until 400 v2 predictions were seen, and
// checks their error rate and that every tier and the labels report v2.
func checkTelemetry(t *testing.T, c jetstream.Consumer) {
	var predictions, failed int
	seen := map[string]bool{}
	telemetry(t, c, func(p events.Point) bool {
		if p.ModelVersion != "v2" {
			return false
		}
		seen[p.Service+"/"+p.Name] = true
		if p.Name == "prediction.error" {
			predictions++
			failed += int(p.Value)
		}
		return predictions >= 400 && seen["model-server/label.correct"]
	})
	if rate := float64(failed) / float64(predictions); rate < 0.25 || rate > 0.45 {
		t.Errorf("v2 prediction.error rate %.3f over %d requests, want about 0.35", rate, predictions)
	}
	for _, want := range []string{"gateway/request.latency_ms", "gateway/request.error", "feature-service/feature.latency_ms",
		"feature-service/feature.missing_ratio", "feature-service/feature.merchant_risk", "model-server/prediction.latency_ms",
		"model-server/prediction.score"} {
		if !seen[want] {
			t.Errorf("no %s point for v2", want)
		}
	}
}

// checkTrace finds a failed v2 prediction in the spans table, where the
// simulator's spans arrive only through the bus and the archiver's
// consumer, and checks its trace: gateway -> feature-service and
// model-server, and the warning logged with the same trace id.
func checkTrace(t *testing.T, s *sim) {
	ctx := context.Background()
	var traceID string
	servicetest.PollFor(t, "a failed v2 prediction span in ClickHouse", 15*time.Second, func() bool {
		err := s.store.Conn().QueryRow(ctx, `SELECT trace_id FROM spans
			WHERE service = 'model-server' AND model_version = 'v2' AND status_code = 2 LIMIT 1`).Scan(&traceID)
		return err == nil && traceID != ""
	})
	type span struct{ service, name, id, parent string }
	var spans map[string]span
	servicetest.PollFor(t, "all three spans of trace "+traceID, 10*time.Second, func() bool {
		rows, err := s.store.Conn().Query(ctx, "SELECT service, name, span_id, parent_span_id FROM spans WHERE trace_id = ?", traceID)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		spans = map[string]span{}
		for rows.Next() {
			var sp span
			if err := rows.Scan(&sp.service, &sp.name, &sp.id, &sp.parent); err != nil {
				t.Fatal(err)
			}
			spans[sp.service] = sp
		}
		return len(spans) == 3
	})
	gw := spans["gateway"]
	if gw.name != "POST /predict" || gw.parent != "" ||
		spans["feature-service"].name != "GET /features" || spans["feature-service"].parent != gw.id ||
		spans["model-server"].name != "predict" || spans["model-server"].parent != gw.id {
		t.Errorf("trace %s: %+v", traceID, spans)
	}
	var n uint64
	servicetest.PollFor(t, "the failure's warning in the logs table", 10*time.Second, func() bool {
		err := s.store.Conn().QueryRow(ctx, `SELECT count() FROM logs WHERE trace_id = ? AND severity = 'WARN'
			AND service = 'model-server' AND model = 'fraud' AND model_version = 'v2'`, traceID).Scan(&n)
		return err == nil && n == 1
	})
}
