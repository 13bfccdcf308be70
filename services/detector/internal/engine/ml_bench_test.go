package engine

import (
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/detector/internal/rules"
)

// inferenceRecords is what the ingest service makes of `records` inference
// records spread over 100ms, round robin over `models` models with two
// versions each (a canary at a third of the traffic): per record the
// features amount (1% missing) and country, the prediction, its latency
// and an error flag. Times count from 0.
func inferenceRecords(models, records int) []events.Point {
	rng := rand.New(rand.NewPCG(3, 4))
	var out []events.Point
	gap := ms(100) / int64(records)
	for i := range records {
		scope := events.Point{Service: "model-server", Model: "model-" + strconv.Itoa(i%models), ModelVersion: "v1",
			TimeUnixNano: int64(i) * gap}
		if rng.IntN(3) == 0 {
			scope.ModelVersion = "v2"
		}
		add := func(name string, v float64) {
			p := scope
			p.Name, p.Value = name, v
			out = append(out, p)
		}
		if rng.IntN(100) == 0 {
			add("feature.amount.missing", 1)
		} else {
			add("feature.amount", rng.ExpFloat64()*100)
		}
		add("feature.country", float64(rng.IntN(8)))
		add("inference.prediction", rng.Float64())
		add("inference.latency_ms", 40+rng.ExpFloat64()*20)
		add("inference.error", float64(rng.IntN(50)/49))
	}
	return out
}

func mlRules(b *testing.B) []rules.Rule { return loadRules(b, "testdata/ml_rules.yaml") }

// BenchmarkEngineML measures points per second through Observe and
// Evaluate with every ML detector kind on (8 rules), one Evaluate per
// 100ms batch of 100 records (500 points) of 20 models.
func BenchmarkEngineML(b *testing.B) {
	benchmarkRules(b, mlRules(b), inferenceRecords(20, 100), ms(100))
}

// BenchmarkMLSeriesMemory reports the heap held per active ML series once
// every window ring is full (80s of event time: the volume baseline's 6
// windows and the current one), for 200 models, per rule and for all.
func BenchmarkMLSeriesMemory(b *testing.B) {
	all := mlRules(b)
	b.Run("all", func(b *testing.B) { mlSeriesMemory(b, all) })
	for _, r := range all {
		b.Run(r.Name, func(b *testing.B) { mlSeriesMemory(b, []rules.Rule{r}) })
	}
}

func mlSeriesMemory(b *testing.B, rs []rules.Rule) {
	batch := inferenceRecords(200, 800)
	base := make([]int64, len(batch))
	for j, p := range batch {
		base[j] = p.TimeUnixNano
	}
	for i := 0; i < b.N; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		e, err := New(rs, DefaultStep)
		if err != nil {
			b.Fatal(err)
		}
		now := time.Now()
		for k := int64(0); k < 80*10; k++ {
			for j := range batch {
				batch[j].TimeUnixNano = t0 + base[j] + k*ms(100)
			}
			e.Observe(batch, 0, noLimit)
			e.Evaluate(now)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(e.Series()), "B/series")
		b.ReportMetric(float64(e.Series()), "series")
		runtime.KeepAlive(e)
	}
}
