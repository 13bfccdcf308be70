// Package engine runs one root-cause analysis: it turns an incident into a
// symptom and time windows, reads the symptom, candidates and changes
// through package query, and ranks them with package analysis.
package engine

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/metricexpr"
	"github.com/medic-sre/medic/services/rca/internal/analysis"
	"github.com/medic-sre/medic/services/rca/internal/callgraph"
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
	// CallGraph is a static call graph, for services without traces; the
	// calls seen in spans are added to it per analysis.
	CallGraph callgraph.Graph
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
	// Logs says Metric is query.LogRecords, read from logs.
	Logs bool
	// StartUnixNano is when the symptom started (S); 0 lets the analysis
	// find it in the data.
	StartUnixNano int64
}

// series is where the symptom's data is read.
func (s Symptom) series() query.Symptom {
	return query.Symptom{Service: s.Service, Expr: s.Expr, Span: s.Span, Logs: s.Logs, Operation: s.Operation, Model: s.Model}
}

// Table is the ClickHouse table the symptom is read from.
func (s Symptom) Table() string { return s.series().Table() }

// Scope is what candidate generators see of one analysis.
type Scope struct {
	Symptom          Symptom
	Baseline, Window analysis.Range
	// SymptomRows is the symptom per bucket of Grid and model version.
	SymptomRows []query.VersionBucket
	// Grid is the buckets compared: the symptom's own step (see
	// analysis.StepOf), starting at the window's start.
	Grid analysis.Grid

	// spans is the span behaviour of the period, per operation and per
	// service, read once for the generators that share it (see
	// spanBehaviour and selfBehaviour).
	spans struct {
		once     sync.Once
		rows     []query.OperationBucket
		services []query.ServiceBucket
		err      error
	}
}

// maxOperations is the most span names a service may carry and still be
// split into operations (see query.SpanBehaviour).
const maxOperations = 20

// spanBehaviour is the period's self errors and latency per operation and
// bucket (query.SpanBehaviour), read on the first call: services,
// operations and log templates all need it, and its join of children to
// parents is most of an analysis's time.
func (sc *Scope) spanBehaviour(ctx context.Context, r *query.Reader) ([]query.OperationBucket, error) {
	sc.spans.once.Do(func() {
		sc.spans.rows, sc.spans.err = r.SpanBehaviour(ctx, sc.Symptom.Model, sc.span(), maxOperations)
		sc.spans.services = query.ServicesOf(sc.spans.rows)
	})
	return sc.spans.rows, sc.spans.err
}

// selfBehaviour is spanBehaviour per service, summed once for the
// generators that share it; they must not change the rows.
func (sc *Scope) selfBehaviour(ctx context.Context, r *query.Reader) ([]query.ServiceBucket, error) {
	if _, err := sc.spanBehaviour(ctx, r); err != nil {
		return nil, err
	}
	return sc.spans.services, nil
}

// span is the whole period analysed: baseline and window. An explicit
// baseline may lie after the window (normal operation recorded later).
func (sc *Scope) span() query.Range {
	return query.Range{From: min(sc.Baseline.From, sc.Window.From), To: max(sc.Baseline.To, sc.Window.To)}
}

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
	return &Engine{r: r, cfg: cfg, generators: []Generator{ModelVersions, OwnMissingData(Services), SameMetric, LogTemplates, Instances,
		Operations, Features}}
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
	// SQL lists, by cause ID, the statements behind the cause's evidence
	// with their values written in, for a responder to rerun.
	SQL map[string][]string
}

// Analyze runs one analysis: of an incident (see IncidentRequest) or on
// demand. No data is not an error: the result then has no causes and no
// confidence. Query errors are returned for a retry.
func (e *Engine) Analyze(ctx context.Context, req Request) (Result, error) {
	ctx, rec := query.WithRecorder(ctx)
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
	sc.Grid = analysis.Grid{Origin: ceilSeconds(sc.Window.From), Width: analysis.StepOf(symptomSeries(sc.SymptomRows))}
	sc.SymptomRows = regroup(sc.SymptomRows, sc.Grid)
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
		out.SQL = evidenceSQL(rec, res.Signals)
	}
	out.Confidence, out.Tie = res.Confidence, res.Tie
	out.FaultStartedUnixNano, out.FaultStartSource = faultStart(res, onset, hasOnset, req.FallbackStartUnixNano)
	return out, nil
}

// input gathers the candidates and changes of an analysis.
func (e *Engine) input(ctx context.Context, sc *Scope, keep Filter) (analysis.Input, error) {
	in := analysis.Input{Symptom: sc.Symptom.Metric, SymptomStart: sc.Symptom.StartUnixNano,
		Baseline: sc.Baseline, Window: sc.Window, Y: symptomSeries(sc.SymptomRows), MaxCauses: e.cfg.MaxCauses}
	// The generators and the call graph read ClickHouse independently: run
	// at once, the server's single-threaded joins share its cores instead
	// of waiting in turn. Results keep the generators' order.
	results := make([][]analysis.Candidate, len(e.generators))
	errs := make([]error, len(e.generators)+1)
	var graph callgraph.Graph
	var wg sync.WaitGroup
	for i, gen := range e.generators {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = gen(ctx, e.r, sc)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		graph, errs[len(e.generators)] = e.callGraph(ctx, sc)
	}()
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return in, err
	}
	var all []analysis.Candidate
	for _, cands := range results {
		all = append(all, cands...)
	}
	byID := map[string]int{}
	for _, c := range lendTemplatesToServices(all) {
		if !keep.keeps(c.Kind, c.Service) {
			continue
		}
		for i := range c.Signals {
			c.Signals[i].X = sc.Grid.Mean(c.Signals[i].X)
		}
		// Two generators may propose one service: it is one
		// candidate, scored by its best signal.
		if i, ok := byID[c.ID]; ok {
			in.Candidates[i].Signals = append(in.Candidates[i].Signals, c.Signals...)
			continue
		}
		byID[c.ID] = len(in.Candidates)
		in.Candidates = append(in.Candidates, c)
	}
	in.Graph = graph
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

// callGraph is the configured static call graph with the calls seen in the
// spans of the analysed period added.
func (e *Engine) callGraph(ctx context.Context, sc *Scope) (callgraph.Graph, error) {
	edges, err := e.r.CallEdges(ctx, sc.span())
	if err != nil {
		return callgraph.Graph{}, err
	}
	g := callgraph.New(e.cfg.CallGraph.Edges()...)
	g.Add(edges...)
	return g, nil
}

// regroup sums the symptom's rows per bucket of g and model version.
func regroup(rows []query.VersionBucket, g analysis.Grid) []query.VersionBucket {
	if g.Width <= 1 {
		return rows
	}
	type key struct {
		b              int64
		model, version string
	}
	at := map[key]int{}
	var out []query.VersionBucket
	for _, r := range rows {
		k := key{g.Bucket(r.Bucket), r.Model, r.ModelVersion}
		i, ok := at[k]
		if !ok {
			at[k], i = len(out), len(out)
			out = append(out, query.VersionBucket{Bucket: k.b, Model: r.Model, ModelVersion: r.ModelVersion})
		}
		out[i].Sum, out[i].Total, out[i].Count = out[i].Sum+r.Sum, out[i].Total+r.Total, out[i].Count+r.Count
	}
	return out
}

// ceilSeconds is unix nanoseconds ns rounded up to a whole second, so that
// a bucket starting there lies inside a range starting at ns.
func ceilSeconds(ns int64) int64 {
	s := ns / int64(time.Second)
	if s*int64(time.Second) < ns {
		s++
	}
	return s
}
