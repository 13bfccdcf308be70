package engine

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
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
	benchmarkRules(b, loadRules(b, ""), otlpExport(20), ms(500))
}

// BenchmarkEngineOTLPZScore is BenchmarkEngineOTLP with every default rule
// turned into a zscore rule (10m baseline, no threshold): the cost of the
// median and MAD of 600 steps per series and step.
func BenchmarkEngineOTLPZScore(b *testing.B) {
	benchmarkRules(b, asDetector(loadRules(b, ""), rules.DetectorZScore), otlpExport(20), ms(500))
}

// BenchmarkEngineOTLPEWMA is the same with ewma rules.
func BenchmarkEngineOTLPEWMA(b *testing.B) {
	benchmarkRules(b, asDetector(loadRules(b, ""), rules.DetectorEWMA), otlpExport(20), ms(500))
}

// BenchmarkSeriesMemory reports the heap held per active series once every
// window and baseline is full: 200 models of the simulator's OTLP exports
// for 11 minutes of event time, through the default rules as they are and
// as zscore and ewma rules.
func BenchmarkSeriesMemory(b *testing.B) {
	for _, tc := range []struct {
		name     string
		detector string
	}{{"threshold", ""}, {"zscore", rules.DetectorZScore}, {"ewma", rules.DetectorEWMA}} {
		b.Run(tc.name, func(b *testing.B) {
			rs := loadRules(b, "")
			if tc.detector != "" {
				rs = asDetector(rs, tc.detector)
			}
			batch := append(otlpExport(200), resourceExport(200)...)
			for i := 0; i < b.N; i++ {
				b.ReportMetric(bytesPerSeries(b, rs, batch), "B/series")
			}
		})
	}
}

// BenchmarkRuleSeriesMemory is BenchmarkSeriesMemory for each default rule
// alone, for each detector: the budget of 4 KiB holds per series, not only
// on average.
func BenchmarkRuleSeriesMemory(b *testing.B) {
	for _, kind := range []string{rules.DetectorThreshold, rules.DetectorZScore, rules.DetectorEWMA} {
		rs := loadRules(b, "")
		if kind != rules.DetectorThreshold {
			rs = asDetector(rs, kind)
		}
		for _, r := range rs {
			b.Run(kind+"/"+r.Name, func(b *testing.B) {
				batch := append(otlpExport(200), resourceExport(200)...)
				for i := 0; i < b.N; i++ {
					b.ReportMetric(bytesPerSeries(b, []rules.Rule{r}, batch), "B/series")
				}
			})
		}
	}
}

func bytesPerSeries(b testing.TB, rs []rules.Rule, batch []events.Point) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	e, err := New(rs, DefaultStep)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	for i := int64(0); i < 11*60*2; i++ {
		for j := range batch {
			batch[j].TimeUnixNano = t0 + i*ms(500)
		}
		e.Observe(batch, 0, noLimit)
		e.Evaluate(now)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	n := e.Series()
	runtime.KeepAlive(e)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
}

// resourceExport is one 500ms export of the resource gauges the saturation
// rules read, for `instances` model-server instances, stamped from 0.
func resourceExport(instances int) []events.Point {
	var out []events.Point
	for i := range instances {
		attrs := map[string]string{"service.instance.id": "model-server-" + strconv.Itoa(i)}
		for _, g := range []struct {
			name string
			v    float64
		}{{"process.cpu.utilization", 0.25}, {"process.memory.utilization", 0.4}} {
			out = append(out, events.Point{Name: g.name, Value: g.v, Service: "model-server", Attributes: attrs})
		}
		out = append(out, events.Point{Name: "system.filesystem.utilization", Value: 0.55, Service: "model-server",
			Attributes: map[string]string{"service.instance.id": attrs["service.instance.id"], "system.filesystem.mountpoint": "/var/lib/model"}})
	}
	return out
}

// otlpExport is one 500ms export of the simulator's OTLP metrics for
// `models` models, stamped from 0.
func otlpExport(models int) []events.Point {
	var batch []events.Point
	for _, p := range simulatorExports(func(string, int) bool { return false }) {
		if p.TimeUnixNano != t0 {
			break
		}
		for m := range models {
			p.Model = "model-" + strconv.Itoa(m)
			batch = append(batch, p)
		}
	}
	for i := range batch {
		batch[i].TimeUnixNano -= t0
	}
	return batch
}

// asDetector turns rules into baseline-relative rules of a kind, with the
// default limit.
func asDetector(rs []rules.Rule, kind string) []rules.Rule {
	out := slices.Clone(rs)
	for i := range out {
		out[i].Detector, out[i].Threshold = kind, 0
		// A baseline detector takes a side, not a bound.
		out[i].Op = strings.TrimSuffix(out[i].Op, "=")
	}
	return out
}

func loadRules(b testing.TB, file string) []rules.Rule {
	f, err := rules.Load(file)
	if err != nil {
		b.Fatal(err)
	}
	return f.Rules
}

// benchmark runs batch through an engine of the rules file (the defaults if
// empty) again and again, each time span later.
func benchmark(b *testing.B, rulesFile string, batch []events.Point, span int64) {
	benchmarkRules(b, loadRules(b, rulesFile), batch, span)
}

func benchmarkRules(b *testing.B, rs []rules.Rule, batch []events.Point, span int64) {
	e, err := New(rs, DefaultStep)
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

// BenchmarkZScoreStride reports how often a zscore rule fires on healthy
// noise (anomalies per simulated hour, over 150 runs of 10 minutes) when
// its ring keeps the window aggregate of every step, of every other step
// (what windows of 10 steps or more keep), and of every quarter window (3
// steps at least).
func BenchmarkZScoreStride(b *testing.B) {
	for _, w := range []time.Duration{time.Second, 3 * time.Second} {
		r := latencyRule(rules.DetectorZScore, rules.OpAbs)
		r.Window, r.Baseline = w, time.Minute
		steps := int64(w / step)
		for _, stride := range []int64{1, 2, max(3, steps/4)} {
			b.Run(fmt.Sprintf("window=%dsteps/stride=%d", steps, stride), func(b *testing.B) {
				for range b.N {
					var fired int
					for seed := range uint64(150) {
						e := newEngine(b, r)
						e.rules[0].ringStride = stride
						e.rules[0].ringLen = int(ceilDiv(steps+e.rules[0].baselineSteps, stride)) + 1
						rng := rand.New(rand.NewPCG(seed, 9))
						for _, em := range run(e, split(noisy(rng, 0, 600_000, 100, 10), 600)...) {
							if _, ok := em.Data.(events.AnomalyDetected); ok {
								fired++
							}
						}
					}
					b.ReportMetric(float64(fired)/25, "anomalies/h")
				}
			})
		}
	}
}
