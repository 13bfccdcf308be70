package app

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/servicetest"
)

// BenchmarkFromTheBus measures the detector end to end: telemetry events
// already on JetStream (1,000 points each, as the ingest service writes
// them), read by a real detector with every detector kind on
// (testdata/bus_bench.yaml), decoded, evaluated and acked. The clock runs
// from the detector's start until its consumer has nothing pending or
// unacked. Run with -benchtime=1x; the number to compare is points/s
// against the ingest service's rate (BENCHMARKS.md, "Front door end to
// end").
func BenchmarkFromTheBus(b *testing.B) {
	const (
		models   = 50
		seconds  = 120
		perEvent = 1000
	)
	for range b.N {
		b.StopTimer()
		h := newHarness(b, "testdata/bus_bench.yaml")
		h.opts.EvalInterval = time.Second
		points := busBenchPoints(models, seconds, time.Now().Add(-seconds*time.Second))
		for i := 0; i < len(points); i += perEvent {
			h.publish(b, "bench-"+strconv.Itoa(i), points[i:min(i+perEvent, len(points))])
		}
		stream, err := h.js.Stream(h.ctx, bus.StreamTelemetry)
		if err != nil {
			b.Fatal(err)
		}
		last := stream.CachedInfo().State.LastSeq
		b.StartTimer()
		start := time.Now()
		h.runWith(b, h.opts)
		servicetest.PollFor(b, fmt.Sprintf("the detector to read %d points", len(points)), 5*time.Minute, func() bool {
			cons, err := h.js.Consumer(h.ctx, bus.StreamTelemetry, Consumer().Durable)
			if err != nil {
				return false
			}
			info, err := cons.Info(h.ctx)
			return err == nil && info.AckFloor.Stream >= last && info.NumAckPending == 0
		})
		elapsed := time.Since(start)
		b.StopTimer()
		// Read, not merely acked: every point reached the engine, and none
		// was turned away (too old, late, duplicate...).
		if got := h.metric(b, "medic_detector_points_total"); got != float64(len(points)) {
			b.Log(grepLines(h.body(b, "/metrics"), "medic_detector"))
			b.Fatalf("%v points fed to the engine, want %d", got, len(points))
		}
		if body := h.body(b, "/metrics"); strings.Contains(body, "medic_detector_points_rejected_total{") {
			b.Fatalf("points were rejected:\n%s", grepLines(body, "medic_detector_points_rejected_total{"))
		}
		b.ReportMetric(float64(len(points))/elapsed.Seconds(), "points/s")
		b.ReportMetric(float64(len(points)), "points")
		b.ReportMetric(h.metric(b, "medic_detector_series"), "series")
	}
}

// busBenchPoints is `seconds` of telemetry from `from` for `models` models
// of the model-server, as the ingest service makes it: every 500ms one OTLP
// export per model (prediction and error rates, the latency histogram's 8
// buckets, count and sum), and 20 inference records a second per model (5
// points each: two features, the prediction, its latency and an error
// flag), a third of them from a canary version.
func busBenchPoints(models, seconds int, from time.Time) []events.Point {
	rng := rand.New(rand.NewPCG(5, 6))
	les := []string{"50", "100", "150", "200", "300", "500", "1000", "+Inf"}
	var out []events.Point
	for step := range seconds * 2 {
		at := from.Add(time.Duration(step) * 500 * time.Millisecond)
		for m := range models {
			scope := events.Point{Service: "model-server", Model: "model-" + strconv.Itoa(m), ModelVersion: "v1",
				TimeUnixNano: at.UnixNano()}
			add := func(name string, v float64, attrs map[string]string) {
				p := scope
				p.Name, p.Value, p.Attributes = name, v, attrs
				out = append(out, p)
			}
			reqs := 10 + rng.Float64()*2
			add("predictions_rate", reqs, nil)
			add("prediction.errors_rate", reqs*rng.Float64()*0.01, nil)
			cum := 0.0
			for i, le := range les {
				cum += float64(5 - min(i, 5))
				add("prediction.latency_ms_bucket", cum, map[string]string{"le": le})
			}
			add("prediction.latency_ms_count", cum, nil)
			add("prediction.latency_ms_sum", cum*80, nil)
			for r := range 10 {
				rec := scope
				rec.TimeUnixNano += int64(r) * int64(50*time.Millisecond)
				if rng.IntN(3) == 0 {
					rec.ModelVersion = "v2"
				}
				for _, f := range []struct {
					name string
					v    float64
				}{{"feature.amount", rng.ExpFloat64() * 100}, {"feature.country", float64(rng.IntN(8))},
					{"inference.prediction", rng.Float64()}, {"inference.latency_ms", 40 + rng.ExpFloat64()*20},
					{"inference.error", float64(rng.IntN(50) / 49)}} {
					p := rec
					p.Name, p.Value = f.name, f.v
					out = append(out, p)
				}
			}
		}
	}
	return out
}

func grepLines(body, prefix string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
