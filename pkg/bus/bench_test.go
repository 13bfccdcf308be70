package bus_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/servicetest"
)

// BenchmarkPublishTelemetry publishes 100-point telemetry batches to an
// embedded JetStream (file store), waiting for each ack.
func BenchmarkPublishTelemetry(b *testing.B) {
	bus := servicetest.Bus(b)
	points := make([]events.Point, 100)
	for i := range points {
		points[i] = events.Point{Name: "prediction.error", Value: 0, TimeUnixNano: int64(i), Service: "model-server", Model: "fraud", ModelVersion: "v1"}
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := bus.Emit(ctx, fmt.Sprintf("b-%d", i), events.TelemetryPoints{Source: "bench", Points: points}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(points))/b.Elapsed().Seconds(), "points/s")
}
