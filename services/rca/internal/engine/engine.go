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

// Symptom is what the analysis explains: a metric of one service, or one of
// its span signals.
type Symptom struct {
	Metric, Service, Model string
	// Operation narrows a span signal to the spans of one name.
	Operation string
	// Expr is Metric parsed: a plain metric or the ratio of two; zero for
	// a span signal.
	Expr metricexpr.Expr
	// Span is the span signal Metric names, read from spans instead of
	// metrics; empty for a metric.
	Span query.SpanSignal
	// StartUnixNano is when the symptom started (S); 0 lets the analysis
	// find it in the data.
	StartUnixNano int64
}

// series is where the symptom's data is read.
func (s Symptom) series() query.Symptom {
	return query.Symptom{Service: s.Service, Expr: s.Expr, Span: s.Span, Operation: s.Operation, Model: s.Model}
}

// Table is the ClickHouse table the symptom is read from.
func (s Symptom) Table() string { return s.series().Table() }

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
	return &Engine{r: r, cfg: cfg, generators: []Generator{ModelVersions, OwnMissingData(Services), Instances}}
}

// Result is an analysis's rca.completed, with what the analysis saw of the
// symptom.
type Result struct {
	events.RCACompleted
	// WindowSeconds is how many 1-second buckets of the window hold
	// symptom data; 0 says the window held none.
	WindowSeconds int
	// SymptomStartUnixNano is the symptom's start the analysis used: the
	// request's, else the symptom's onset in the data, else the window's
	// start.
	SymptomStartUnixNano int64
}

// Analyze runs one analysis: of an incident (see IncidentRequest) or on
// demand. No data is not an error: the result then has no causes and no
// confidence. Query errors are returned for a retry.
func (e *Engine) Analyze(ctx context.Context, req Request) (Result, error) {
	sym := req.Symptom
	sc := &Scope{Symptom: sym, Baseline: req.Baseline, Window: req.Window}
	out := Result{RCACompleted: events.RCACompleted{AnalysisID: req.AnalysisID, Trigger: req.Trigger, AnomalyIDs: req.AnomalyIDs,
		IncidentID: req.IncidentID, Symptom: sym.Metric + "@" + sym.Service,
		BaselineStartUnixNano: sc.Baseline.From, BaselineEndUnixNano: sc.Baseline.To,
		WindowStartUnixNano: sc.Window.From, WindowEndUnixNano: sc.Window.To,
		AnalyzedUnixNano: req.AnalyzedAt.UnixNano(), Causes: []events.Cause{}}}
	cov, err := e.r.SymptomCoverage(ctx, sym.series(), query.Range(sc.Baseline))
	if err != nil {
		return out, err
	}
	out.Baseline = judgeBaseline(cov, e.cfg)
	onset, hasOnset, err := e.onset(ctx, sc, cov)
	if err != nil {
		return out, err
	}
	if sc.Symptom.StartUnixNano == 0 {
		sc.Symptom.StartUnixNano = sc.Window.From
		if hasOnset {
			sc.Symptom.StartUnixNano = onset
		}
	}
	out.SymptomStartUnixNano = sc.Symptom.StartUnixNano
	if sc.SymptomRows, err = e.r.SymptomByVersion(ctx, sym.series(), sc.span()); err != nil {
		return out, err
	}
	out.WindowSeconds = len(analysis.NewFrame(symptomSeries(sc.SymptomRows), sc.Baseline, sc.Window).Window)
	var res analysis.Result
	if out.WindowSeconds > 0 {
		in, err := e.input(ctx, sc, req.Candidates)
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
	out.FaultStartedUnixNano, out.FaultStartSource = faultStart(res, onset, hasOnset, req.FallbackStartUnixNano)
	return out, nil
}

// input gathers the candidates and changes of an analysis.
func (e *Engine) input(ctx context.Context, sc *Scope, keep Filter) (analysis.Input, error) {
	in := analysis.Input{Symptom: sc.Symptom.Metric, SymptomStart: sc.Symptom.StartUnixNano,
		Baseline: sc.Baseline, Window: sc.Window, Y: symptomSeries(sc.SymptomRows), MaxCauses: e.cfg.MaxCauses}
	for _, gen := range e.generators {
		cands, err := gen(ctx, e.r, sc)
		if err != nil {
			return in, err
		}
		for _, c := range cands {
			if keep.keeps(c.Kind, c.Service) {
				in.Candidates = append(in.Candidates, c)
			}
		}
	}
	changes, err := e.r.Changes(ctx, query.Range{From: sc.Symptom.StartUnixNano - int64(e.cfg.ChangeLookback), To: sc.Window.To})
	if err != nil {
		return in, err
	}
	for _, c := range changes {
		if !keep.keeps(events.CauseChange, c.Service) {
			continue
		}
		in.Changes = append(in.Changes, analysis.Change{ID: c.ChangeID, Kind: c.Kind, Service: c.Service,
			Model: c.Model, ModelVersion: c.ModelVersion, TimeUnixNano: c.TimeUnixNano})
	}
	return in, nil
}
