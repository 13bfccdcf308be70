// Package serving is the simulated ML serving path: gateway ->
// feature-service -> model-server, called in-process. Each tier has its own
// tracer, so a request is one trace whose spans carry the tier's service
// name; each request also leaves telemetry points and, later, a label.
package serving

import (
	"context"
	"log/slog"
	"math"
	"math/rand/v2"
	"time"

	"github.com/medic-sre/medic/services/simulator/internal/fault"
	"github.com/medic-sre/medic/services/simulator/internal/model"
	"github.com/medic-sre/medic/services/simulator/internal/stats"
	"go.opentelemetry.io/otel/trace"
)

// Service names of the tiers, as they appear on spans, logs and points.
const (
	Gateway        = "gateway"
	FeatureService = "feature-service"
	ModelServer    = "model-server"
)

// Tracers holds one tracer per tier.
type Tracers struct {
	Gateway, Features, Model trace.Tracer
}

// Pipeline serves synthetic requests. Serve is called from one goroutine
// only: it owns the random source.
type Pipeline struct {
	Registry *model.Registry
	Faults   *fault.Set
	Tracers  Tracers
	Log      *slog.Logger
	Metrics  *Instruments
	Labels   *Labels
	// Inference, when set, gets every request (the inference log).
	Inference interface{ Write(Result) }
	// LabelLog, when set, gets every label as it arrives (the label log).
	LabelLog   interface{ WriteLabel(Label) }
	Stats      *stats.Window
	LabelDelay time.Duration
	rng        *rand.Rand
}

// Result is what happened to one request.
type Result struct {
	// ID is the request's trace id: the inference log's prediction id.
	ID         string
	At         time.Time
	Version    string
	Features   model.Features // as served, with nulls
	FeatureMs  float64
	Prediction model.Prediction
	LatencyMs  float64
	Fraud      bool // the synthetic ground truth
}

// Failed reports whether the gateway answered with an error.
func (r Result) Failed() bool { return r.Prediction.Err != nil }

// Seed sets the random source; a pipeline must be seeded before Serve.
func (p *Pipeline) Seed(seed uint64) { p.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

// Serve runs one request that arrived at `at` and records its telemetry.
func (p *Pipeline) Serve(ctx context.Context, at time.Time) Result {
	r := p.trace(ctx, at)
	p.record(ctx, r)
	return r
}

// fetchFeatures is the feature-service: it returns the features as served
// (with the injected faults) and its latency.
func (p *Pipeline) fetchFeatures(truth model.Features) (model.Features, float64) {
	served := truth
	latency := model.LogNormal(p.rng, 5, 0.3)
	if p.Faults.Active(fault.SlowDependency) {
		latency += 400
	}
	if p.Faults.Active(fault.FeatureNulls) && p.rng.Float64() < 0.6 {
		served.MerchantRisk = nil
	}
	return served, latency
}

// Run serves rps requests per second until ctx ends. Requests are spread
// over each tick at their real arrival times; nothing sleeps per request.
func (p *Pipeline) Run(ctx context.Context, rps float64, tick time.Duration) {
	t := time.NewTicker(tick)
	defer t.Stop()
	last, due := time.Now(), 0.0
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			elapsed := now.Sub(last)
			// A stalled process does not catch up with a burst of more
			// than one second of traffic.
			due = math.Min(due+rps*elapsed.Seconds(), math.Max(rps, 1))
			n := int(due)
			due -= float64(n)
			for i := range n {
				p.Serve(ctx, last.Add(elapsed*time.Duration(i+1)/time.Duration(n)))
			}
			p.deliverLabels(ctx, now)
			last = now
		}
	}
}
