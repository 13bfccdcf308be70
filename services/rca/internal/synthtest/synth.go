// Package synthtest generates telemetry shaped like the simulator's
// (gateway -> feature-service -> model-server serving model "fraud") with one
// fault injected, for tests and benchmarks of the analysis. It writes the
// rows the archiver and the telemetry exporter would have written. Like
// net/http/httptest it is test-only code: no non-test file may import it
// (TestOnlyTestsImport).
package synthtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/medic-sre/medic/pkg/events"
)

// Faults the simulator can inject.
const (
	BadModelVersion = "bad_model_version"
	FeatureNulls    = "feature_nulls"
	SlowDependency  = "slow_dependency"
)

// faults lists every fault Generate knows.
var faults = []string{BadModelVersion, FeatureNulls, SlowDependency}

// slowMs is what slow_dependency adds to the feature-service's latency, as
// in the simulator.
const slowMs = 400

// Model is the simulated model's name.
const Model = "fraud"

// Scenario is a run of the simulator: healthy traffic for Baseline, then the
// fault from FaultAt for FaultFor.
type Scenario struct {
	Fault    string
	FaultAt  time.Time
	Baseline time.Duration
	FaultFor time.Duration
	RPS      int
	Seed     uint64
	// NullProb is the share of requests whose features come back null
	// during feature_nulls.
	NullProb float64
	// Counters reports metrics as an OpenTelemetry SDK does through the
	// ingest service, instead of points per request: every ExportInterval,
	// counters as totals and _rate points, latencies as cumulative
	// histograms (see counters).
	Counters bool
	// Second is another fault injected from SecondAt, for incidents whose
	// symptoms have two causes; empty for none.
	Second   string
	SecondAt time.Time
}

// active reports whether fault f is injected at t.
func (s Scenario) active(f string, t time.Time) bool {
	return (s.Fault == f && !t.Before(s.FaultAt)) || (s.Second == f && !t.Before(s.SecondAt))
}

// startOf is when fault f is injected, and whether it is.
func (s Scenario) startOf(f string) (time.Time, bool) {
	switch f {
	case s.Fault:
		return s.FaultAt, true
	case s.Second:
		return s.SecondAt, true
	}
	return time.Time{}, false
}

// Data is the rows of one scenario, per table, in the column order of
// archive.MetricColumns, SpanColumns and archive.EventColumns.
type Data struct {
	Metrics, Spans, Events [][]any
	// Change is the change that caused the fault, zero when none did.
	Change events.ChangeRecorded
	// Requests is how many requests were simulated.
	Requests int
}

// errorProb is each version's failure rate on complete features.
var errorProb = map[string]float64{"v1": 0.005, "v2": 0.35}

// Generate simulates every request of the scenario.
func Generate(s Scenario) (Data, error) {
	if !slices.Contains(faults, s.Fault) {
		return Data{}, fmt.Errorf("unknown fault %q: want one of %v", s.Fault, faults)
	}
	if s.Second != "" && (!slices.Contains(faults, s.Second) || s.Second == s.Fault) {
		return Data{}, fmt.Errorf("second fault %q: want another of %v", s.Second, faults)
	}
	if s.RPS <= 0 {
		return Data{}, fmt.Errorf("rps %d: want > 0", s.RPS)
	}
	g := &generator{s: s, rng: rand.New(rand.NewPCG(s.Seed, s.Seed^0x9e3779b97f4a7c15))}
	start, end := s.FaultAt.Add(-s.Baseline), s.FaultAt.Add(s.FaultFor)
	if s.Counters {
		g.counters = newCounters(start)
	}
	step := time.Second / time.Duration(s.RPS)
	for t := start; t.Before(end); t = t.Add(step) {
		jitter := time.Duration(g.rng.Int64N(int64(step)))
		g.request(t.Add(jitter))
		g.data.Requests++
	}
	if g.counters != nil {
		g.counters.exportUntil(end, &g.data.Metrics)
	}
	if err := g.changes(); err != nil {
		return Data{}, err
	}
	return g.data, nil
}

// Incident is the incident the correlator would open for the scenario, on
// the given symptom, detected a few seconds after the fault began.
func Incident(s Scenario, id, metric, service string) events.IncidentOpened {
	started := s.FaultAt.Add(3 * time.Second).UnixNano()
	detected := s.FaultAt.Add(8 * time.Second).UnixNano()
	return events.IncidentOpened{
		IncidentID: id, GroupKey: service + "/" + Model, Title: metric + " high on " + service,
		Severity: events.SeverityCritical, Service: service, Model: Model,
		StartedUnixNano: started, DetectedUnixNano: detected, OpenedUnixNano: detected,
		Anomalies: []events.AnomalyRef{{AnomalyID: "a-" + id, Rule: metric + "-high", Metric: metric,
			Value: 0.3, StartedUnixNano: started, DetectedUnixNano: detected, Service: service, Model: Model}},
	}
}

type generator struct {
	s    Scenario
	rng  *rand.Rand
	data Data
	// counters is set when metrics are exported as counters.
	counters *counters
}

// request simulates one request through the three services.
func (g *generator) request(t time.Time) {
	version := "v1"
	if g.s.active(BadModelVersion, t) {
		version = "v2"
	}
	null := g.s.active(FeatureNulls, t) && g.rng.Float64() < g.s.NullProb
	failed := null || g.rng.Float64() < errorProb[version]
	r := req{t: t, version: version, trace: g.hex(16), failed: failed,
		modelMs: g.lognormal(20, 0.35), featureMs: g.lognormal(5, 0.3)}
	if null {
		r.missing = 1.0 / 3
	}
	if g.s.active(SlowDependency, t) {
		r.featureMs += slowMs
	}
	g.spans(r)
	if g.counters != nil {
		g.count(r)
	} else {
		g.metrics(r)
	}
}

type req struct {
	t                  time.Time
	version, trace     string
	failed             bool
	missing            float64
	modelMs, featureMs float64
}

func (g *generator) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n*2)
	for i := range b {
		b[i] = digits[g.rng.IntN(16)]
	}
	return string(b)
}

func (g *generator) lognormal(p50, sigma float64) float64 {
	return p50 * math.Exp(g.rng.NormFloat64()*sigma)
}
