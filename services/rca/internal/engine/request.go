package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/medic-sre/medic/pkg/metricexpr"
	"github.com/medic-sre/medic/services/rca/internal/analysis"
	"github.com/medic-sre/medic/services/rca/internal/query"
)

// Request is one analysis: the symptom, the baseline that shows what normal
// was and the window whose excess is explained. An incident's analysis and
// one asked for on demand are both a Request, so they run the same engine.
type Request struct {
	Symptom          Symptom
	Baseline, Window analysis.Range
	// Candidates narrows what is ranked; the zero Filter ranks all.
	Candidates Filter
	// AnalysisID, Trigger, IncidentID and AnomalyIDs say what asked for an
	// incident's analysis; empty on demand.
	AnalysisID, Trigger, IncidentID string
	AnomalyIDs                      []string
	// FallbackStartUnixNano dates the fault when neither a change nor the
	// data does (an incident's earliest anomaly start); 0 for none.
	FallbackStartUnixNano int64
	// AnalyzedAt stamps the result; the windows never depend on it.
	AnalyzedAt time.Time
}

// Filter keeps the candidates of some kinds and services. An empty list
// keeps all; Services keeps a candidate that names no service (a model
// version) too, since a model version is served by some service the
// filter cannot tell.
type Filter struct {
	Kinds, Services []string
}

// keeps reports whether the filter keeps a candidate of kind and service.
func (f Filter) keeps(kind, service string) bool {
	if len(f.Kinds) > 0 && !slices.Contains(f.Kinds, kind) {
		return false
	}
	return len(f.Services) == 0 || service == "" || slices.Contains(f.Services, service)
}

// IncidentRequest is the analysis t asks for, as of now: the window opens
// the configured lead before the symptom's start and ends at now, the
// baseline is the configured length before it.
func (e *Engine) IncidentRequest(t Task, now time.Time) (Request, error) {
	sym, err := SymptomOf(t)
	if err != nil {
		return Request{}, err
	}
	windowStart := max(sym.StartUnixNano-int64(e.cfg.Lead), 0)
	end := max(now.UnixNano(), windowStart)
	return Request{Symptom: sym,
		Baseline:   analysis.Range{From: max(windowStart-int64(e.cfg.Baseline), 0), To: windowStart},
		Window:     analysis.Range{From: windowStart, To: end + 1},
		AnalysisID: t.AnalysisID, Trigger: t.Trigger, IncidentID: t.IncidentID, AnomalyIDs: t.AnomalyIDs(),
		FallbackStartUnixNano: t.earliestStart(), AnalyzedAt: now}, nil
}

// ParseSymptom is a symptom asked for on demand. metric is a span signal
// (latency, error or throughput: the service's entry spans), logs (its
// warning and error records per second, query.LogRecords) or a metric
// expression (see package metricexpr); an empty metric is latency. An
// operation narrows a span signal only. Anything else is ErrBadSymptom.
func ParseSymptom(service, operation, metric, model string) (Symptom, error) {
	if strings.TrimSpace(service) == "" {
		return Symptom{}, fmt.Errorf("%w: no service", ErrBadSymptom)
	}
	if metric == "" {
		metric = string(query.SpanLatency)
	}
	s := Symptom{Metric: metric, Service: service, Operation: operation, Model: model}
	if metric == query.LogRecords && operation == "" {
		s.Logs = true
		return s, nil
	}
	if sig, ok := query.ParseSpanSignal(metric); ok {
		s.Span = sig
		return s, nil
	}
	if operation != "" {
		return Symptom{}, fmt.Errorf("%w: operation %q applies to the span signals %v only, not to metric %q",
			ErrBadSymptom, operation, query.SpanSignals, metric)
	}
	expr, err := metricexpr.Parse(metric)
	if err != nil {
		return Symptom{}, fmt.Errorf("%w: %w", ErrBadSymptom, err)
	}
	s.Expr = expr
	return s, nil
}

// Services are the services with spans or metric points in rg, in name
// order: what a symptom may name there.
func (e *Engine) Services(ctx context.Context, rg analysis.Range) ([]string, error) {
	return e.r.Services(ctx, query.Range(rg))
}
