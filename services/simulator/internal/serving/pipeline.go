// Package serving is the simulated ML serving path: gateway ->
// feature-service -> model-server, called in-process. Each tier has its own
// tracer, so a request is one trace whose spans carry the tier's service
// name; each request also leaves telemetry points and, later, a label.
package serving

import (
	"context"
	"fmt"
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
	// FeatureStore is the feature-service's upstream data source.
	FeatureStore = "feature-store"
)

// Tracers holds one tracer per tier.
type Tracers struct {
	Gateway, Features, Model trace.Tracer
	// Store is the feature-store's; nil leaves the feature-service without
	// an upstream store.
	Store trace.Tracer
	// ModelInstances, when set, are the model-server's instances, each
	// with its own resource (service.instance.id, k8s.pod.name): requests
	// go to them in turn and Model is unused.
	ModelInstances []trace.Tracer
}

// Pipeline serves synthetic requests. Serve is called from one goroutine
// only: it owns the random source.
type Pipeline struct {
	Registry *model.Registry
	Faults   *fault.Set
	Tracers  Tracers
	// Log writes the model-server's log records, FeaturesLog the
	// feature-service's.
	Log, FeaturesLog *slog.Logger
	Metrics          *Instruments
	// StoreMetrics are the feature-store's; nil: none.
	StoreMetrics *StoreInstruments
	Labels       *Labels
	// Inference, when set, gets every request (the inference log).
	Inference interface{ Write(Result) }
	// LabelLog, when set, gets every label as it arrives (the label log).
	LabelLog   interface{ WriteLabel(Label) }
	Stats      *stats.Window
	LabelDelay time.Duration
	rng        *rand.Rand
	served     int // requests so far, to take turns between instances
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
	// FeatureErr is the feature-service's failure; the model is then not
	// asked.
	FeatureErr error
	// Instance is the index of the model-server instance that served the
	// request (0 without instances).
	Instance int
}

// Failed reports whether the gateway answered with an error.
func (r Result) Failed() bool { return r.Prediction.Err != nil || r.FeatureErr != nil }

// Seed sets the random source; a pipeline must be seeded before Serve.
func (p *Pipeline) Seed(seed uint64) { p.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

// Serve runs one request that arrived at `at` and records its telemetry.
func (p *Pipeline) Serve(ctx context.Context, at time.Time) Result {
	r := p.trace(ctx, at)
	p.record(ctx, r)
	return r
}

// fetchFeatures is the feature-service's own work: it returns the features
// as served (with the injected faults) and its own latency, the store's
// lookup aside.
func (p *Pipeline) fetchFeatures(truth model.Features) (model.Features, float64, error) {
	served := truth
	latency := model.LogNormal(p.rng, 5, 0.3)
	if p.Faults.Active(fault.SlowDependency) {
		latency += 400
	}
	if p.Faults.Active(fault.FeatureNulls) && p.rng.Float64() < 0.6 {
		served.MerchantRisk = nil
	}
	if p.Faults.Active(fault.ErroringDependency) && p.rng.Float64() < erroringShare {
		return p.breakRange(served), latency, ErrFeatureLookup
	}
	return p.breakRange(served), latency, nil
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
			due = math.Min(due+rps*p.TrafficShare()*elapsed.Seconds(), math.Max(rps, 1))
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

// logFault is the log_errors fault: the feature-service logs that a write
// to its cache failed, naming a shard, a request and a count that vary, so
// that only a template miner sees one line in them.
func (p *Pipeline) logFault(ctx context.Context, requestID string) {
	if p.FeaturesLog == nil || !p.Faults.Active(fault.LogErrors) {
		return
	}
	p.FeaturesLog.ErrorContext(ctx, fmt.Sprintf("feature cache shard 0x%04x rejected write for request %s: %d entries evicted",
		p.rng.IntN(1<<16), requestID[:16], 1+p.rng.IntN(500)))
}
