package engine

import (
	"context"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/rca/internal/analysis"
	"github.com/medic-sre/medic/services/rca/internal/query"
)

// OperationPrefix starts the ID of an operation's candidate:
// "operation:<service>/<span name>".
const OperationPrefix = "operation:"

// Bounds on the operations proposed: the ones whose own signal rose the
// most (by lift), so that a service with thousands of span names (a name
// per URL) cannot flood the analysis.
const (
	operationsPerService = 5
	operationsTotal      = 50
)

// operationWeight is an operation's weight against its service's. Its
// signal is its part of the service's, so an operation that carries all of
// its service's excess ranks just below the service: the narrower name,
// but the service is what a responder rolls back or scales.
const operationWeight = analysis.WeightService * 0.95

// Operation signal names; see signalQueries.
const (
	signalOperationErrors  = "operation_self_errors"
	signalOperationLatency = "operation_self_latency"
)

// Operations proposes the operations (a service's spans of one name) of
// services seen with two or more, whose own self errors (self latency for
// a latency symptom) rose in the window: the operationsPerService with the
// greatest lift per service, at most operationsTotal. An operation's
// signal is its part of its service's: its self errors, or self time, over
// all the service's spans in the bucket, so that the operations' signals
// add up to the service's self_errors or self_latency (see Services).
func Operations(ctx context.Context, r *query.Reader, sc *Scope) ([]analysis.Candidate, error) {
	spans, err := r.MultiOperationSpans(ctx, sc.Symptom.Model, sc.span())
	if err != nil || len(spans) == 0 {
		return nil, err
	}
	perBucket := map[string]map[int64]uint64{}
	var services []string
	for _, s := range spans {
		if perBucket[s.Service] == nil {
			perBucket[s.Service] = map[int64]uint64{}
			services = append(services, s.Service)
		}
		perBucket[s.Service][s.Bucket] = s.Spans
	}
	latency := isLatency(sc.Symptom.Metric)
	rows, err := r.OperationBehaviour(ctx, sc.Symptom.Model, services, query.OperationRise{Latency: latency,
		Baseline: query.Range(sc.Baseline), Window: query.Range(sc.Window),
		PerService: operationsPerService, Total: operationsTotal}, sc.span())
	if err != nil {
		return nil, err
	}
	name := signalOperationErrors
	if latency {
		name = signalOperationLatency
	}
	byID := map[string]*analysis.Candidate{}
	var order []string
	for _, row := range rows {
		n := perBucket[row.Service][row.Bucket]
		if n == 0 {
			continue // a span copy counted in one query and not the other
		}
		id := OperationPrefix + row.Service + "/" + row.Operation
		c, ok := byID[id]
		if !ok {
			c = &analysis.Candidate{Kind: events.CauseOperation, ID: id, Service: row.Service, Label: row.Operation,
				Specificity: 1, Signals: []analysis.Signal{{Name: name, X: analysis.Series{}, Weight: operationWeight}}}
			byID[id] = c
			order = append(order, id)
		}
		bad := float64(row.SelfErrors)
		if latency {
			bad = row.SelfLatencyMsSum
		}
		c.Signals[0].X[row.Bucket] = bad / float64(n)
	}
	out := make([]analysis.Candidate, 0, len(order))
	for _, id := range order {
		out = append(out, *byID[id])
	}
	return out, nil
}
