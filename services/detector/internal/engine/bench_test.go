package engine

import (
	"math/rand/v2"
	"strconv"
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
// with per-point rules (the default rules of the per-request simulator),
// one Evaluate per 500-point batch as the detector runs. The roadmap target
// is 300k points/s per core.
func BenchmarkEngine(b *testing.B) {
	batch, span := simulatorBatch(200)
	benchmark(b, "testdata/per_point_rules.yaml", batch, span)
}

// BenchmarkEngineOTLP is BenchmarkEngine with the default rules (ratios and
// histogram quantiles) over what the ingest service makes of OTLP exports:
// one 500ms export of 20 models per batch, 520 points.
func BenchmarkEngineOTLP(b *testing.B) {
	var batch []events.Point
	for _, p := range simulatorExports(func(string, int) bool { return false }) {
		if p.TimeUnixNano != t0 {
			break
		}
		for m := range 20 {
			p.Model = "model-" + strconv.Itoa(m)
			batch = append(batch, p)
		}
	}
	for i := range batch {
		batch[i].TimeUnixNano -= t0
	}
	benchmark(b, "", batch, ms(500))
}

// benchmark runs batch through an engine of the rules file (the defaults if
// empty) again and again, each time span later.
func benchmark(b *testing.B, rulesFile string, batch []events.Point, span int64) {
	f, err := rules.Load(rulesFile)
	if err != nil {
		b.Fatal(err)
	}
	e, err := New(f.Rules, DefaultStep)
	if err != nil {
		b.Fatal(err)
	}
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
