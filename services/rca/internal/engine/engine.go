// Package engine runs one root-cause analysis: it turns an incident into a
// symptom and time windows, reads the symptom, candidates and changes
// through package query, and ranks them with package analysis.
package engine

import (
	"context"
	"errors"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/metricexpr"
	"github.com/medic-sre/medic/services/rca/internal/analysis"
	"github.com/medic-sre/medic/services/rca/internal/query"
)

// ErrNoSymptom means the incident names no anomaly to analyse; no retry can
// change that.
var ErrNoSymptom = errors.New("incident has no anomaly with a metric and service")

// ErrBadSymptom means the symptom's metric is not an expression the
// analysis can read; no retry can change that either.
var ErrBadSymptom = errors.New("symptom metric is malformed")

// Config shapes the windows of an analysis.
type Config struct {
	// Lead is how long before the symptom's start the incident window
	// opens, so that a cause slightly ahead of the symptom is inside it.
	Lead time.Duration
	// Baseline is the length of the healthy period before the window.
	Baseline time.Duration
	// ChangeLookback is how long before the symptom changes are considered.
	ChangeLookback time.Duration
	// MaxCauses bounds the ranked causes.
	MaxCauses int
	// MinBaseline is how much of the baseline must hold symptom data (in
	// 1-second buckets with at least one point) for it to be sufficient.
	MinBaseline time.Duration
	// MinBaselinePoints is how many symptom points the baseline must hold
	// for it to be sufficient.
	MinBaselinePoints int
}

// DefaultConfig is the configuration the service starts with.
var DefaultConfig = Config{Lead: 15 * time.Second, Baseline: 5 * time.Minute, ChangeLookback: 10 * time.Minute, MaxCauses: 10,
	MinBaseline: 30 * time.Second, MinBaselinePoints: 30}

// Symptom is what the analysis explains: a metric of one service.
type Symptom struct {
	Metric, Service, Model string
	// Expr is Metric parsed: a plain metric or the ratio of two.
	Expr metricexpr.Expr
	// StartUnixNano is when the symptom started (S).
	StartUnixNano int64
}

// Scope is what candidate generators see of one analysis.
type Scope struct {
	Symptom          Symptom
	Baseline, Window analysis.Range
	// SymptomRows is the symptom per bucket and model version.
	SymptomRows []query.VersionBucket
}

// span is the whole period analysed: baseline and window.
func (sc *Scope) span() query.Range { return query.Range{From: sc.Baseline.From, To: sc.Window.To} }

// Generator proposes candidates with their signals. New kinds of evidence
// (a random walk over the call graph, log templates) plug in as generators.
type Generator func(ctx context.Context, r *query.Reader, sc *Scope) ([]analysis.Candidate, error)

// Engine analyses incidents against ClickHouse.
type Engine struct {
	r          *query.Reader
	cfg        Config
	generators []Generator
}

// New returns an engine with the standard candidate generators.
func New(r *query.Reader, cfg Config) *Engine {
	return &Engine{r: r, cfg: cfg, generators: []Generator{ModelVersions, Services}}
}

// Analyze runs the analysis t asks for, as of now. No data is not an error:
// the result then has no causes and no confidence. Query errors are
// returned for a retry.
func (e *Engine) Analyze(ctx context.Context, t Task, now time.Time) (events.RCACompleted, error) {
	sym, err := SymptomOf(t)
	if err != nil {
		return events.RCACompleted{}, err
	}
	sc := e.scope(sym, now)
	out := events.RCACompleted{AnalysisID: t.AnalysisID, Trigger: t.Trigger, AnomalyIDs: t.AnomalyIDs(),
		IncidentID: t.IncidentID, Symptom: sym.Metric + "@" + sym.Service,
		BaselineStartUnixNano: sc.Baseline.From, BaselineEndUnixNano: sc.Baseline.To,
		WindowStartUnixNano: sc.Window.From, WindowEndUnixNano: sc.Window.To,
		AnalyzedUnixNano: now.UnixNano(), Causes: []events.Cause{}}
	cov, err := e.r.SymptomCoverage(ctx, sym.Expr, sym.Service, query.Range(sc.Baseline))
	if err != nil {
		return out, err
	}
	out.Baseline = judgeBaseline(cov, e.cfg)
	if sc.SymptomRows, err = e.r.SymptomByVersion(ctx, sym.Expr, sym.Service, sc.span()); err != nil {
		return out, err
	}
	var res analysis.Result
	if len(sc.SymptomRows) > 0 {
		in, err := e.input(ctx, sc)
		if err != nil {
			return out, err
		}
		in.BaselineSufficient = out.Baseline.Sufficient
		res = analysis.Analyze(in)
	}
	if len(res.Causes) > 0 {
		out.Causes = res.Causes
	}
	out.Confidence, out.Tie = res.Confidence, res.Tie
	out.FaultStartedUnixNano, out.FaultStartSource, err = e.faultStart(ctx, t, sc, cov, res)
	return out, err
}

// input gathers the candidates and changes of an analysis.
func (e *Engine) input(ctx context.Context, sc *Scope) (analysis.Input, error) {
	in := analysis.Input{Symptom: sc.Symptom.Metric, SymptomStart: sc.Symptom.StartUnixNano,
		Baseline: sc.Baseline, Window: sc.Window, Y: symptomSeries(sc.SymptomRows), MaxCauses: e.cfg.MaxCauses}
	for _, gen := range e.generators {
		cands, err := gen(ctx, e.r, sc)
		if err != nil {
			return in, err
		}
		in.Candidates = append(in.Candidates, cands...)
	}
	changes, err := e.r.Changes(ctx, query.Range{From: sc.Symptom.StartUnixNano - int64(e.cfg.ChangeLookback), To: sc.Window.To})
	if err != nil {
		return in, err
	}
	for _, c := range changes {
		in.Changes = append(in.Changes, analysis.Change{ID: c.ChangeID, Kind: c.Kind, Service: c.Service,
			Model: c.Model, ModelVersion: c.ModelVersion, TimeUnixNano: c.TimeUnixNano})
	}
	return in, nil
}

// scope lays out the baseline and window around the symptom's start.
func (e *Engine) scope(sym Symptom, now time.Time) *Scope {
	windowStart := max(sym.StartUnixNano-int64(e.cfg.Lead), 0)
	end := max(now.UnixNano(), windowStart)
	return &Scope{Symptom: sym,
		Baseline: analysis.Range{From: max(windowStart-int64(e.cfg.Baseline), 0), To: windowStart},
		Window:   analysis.Range{From: windowStart, To: end + 1}}
}
