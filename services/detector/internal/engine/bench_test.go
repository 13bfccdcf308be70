package engine

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/detector/internal/rules"
)

// simulatorBatch is one 500-point batch shaped like the simulator's
// telemetry: every request yields 8 points across three services, at
// `rps` requests per second of event time.
func simulatorBatch(rps int) (batch []events.Point, span int64) {
	names := []struct{ name, service string }{
		{"request.latency_ms", "gateway"}, {"request.error", "gateway"},
		{"feature.latency_ms", "feature-service"}, {"feature.missing_ratio", "feature-service"},
		{"prediction.latency_ms", "model-server"}, {"prediction.error", "model-server"},
		{"prediction.score", "model-server"}, {"label.correct", "model-server"},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	gap := int64(time.Second) / int64(rps)
	for i := 0; len(batch) < 500; i++ {
		for _, n := range names {
			batch = append(batch, events.Point{Name: n.name, Service: n.service, Model: "fraud", ModelVersion: "v1",
				Value: rng.Float64() * 300, TimeUnixNano: int64(i) * gap})
		}
	}
	return batch[:500], int64(len(batch[:500])/len(names)+1) * gap
}

// BenchmarkEngine measures points per second through Observe and Evaluate
// with the default rules, one Evaluate per 500-point batch as the detector
// runs. The roadmap target is 300k points/s per core.
func BenchmarkEngine(b *testing.B) {
	f, err := rules.Load("")
	if err != nil {
		b.Fatal(err)
	}
	e, err := New(f.Rules, DefaultStep)
	if err != nil {
		b.Fatal(err)
	}
	batch, span := simulatorBatch(200)
	base := make([]int64, len(batch))
	for i, p := range batch {
		base[i] = t0 + p.TimeUnixNano
	}
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range batch {
			batch[j].TimeUnixNano = base[j] + int64(i)*span
		}
		e.Observe(batch, 0, noLimit)
		e.Evaluate(now)
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "points/s")
}
