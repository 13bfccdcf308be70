package engine

import (
	"cmp"
	"context"
	"slices"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/rca/internal/analysis"
	"github.com/medic-sre/medic/services/rca/internal/query"
)

// OperationPrefix starts the ID of an operation's candidate:
// "operation:<service>/<span name>".
const OperationPrefix = "operation:"

// Bounds on the operations proposed: the ones whose own signal rose the
// most (by lift), so that a service with many span names cannot flood the
// analysis (one with more than maxOperations is not split at all).
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
// services seen with 2 to maxOperations names, whose own self errors (self
// latency for a latency symptom) rose in the window: the
// operationsPerService with the greatest lift per service, at most
// operationsTotal. Lift is the window's mean less the baseline's, over the
// baseline's standard deviation, of the operation's share of self errors
// (mean self latency) per bucket. An operation's signal is its part of its
// service's: its self errors, or self time, over all the service's spans
// in the bucket, so that the operations' signals add up to the service's
// self_errors or self_latency (see Services). The rows are the span
// behaviour the services are read from (Scope.spanBehaviour): the
// per-bucket sums come from ClickHouse, and only the choice of the
// operations with the greatest lift is made here.
func Operations(ctx context.Context, r *query.Reader, sc *Scope) ([]analysis.Candidate, error) {
	rows, err := sc.spanBehaviour(ctx, r)
	if err != nil {
		return nil, err
	}
	spans := map[string]map[int64]uint64{}
	type opKey struct{ service, name string }
	byOp := map[opKey][]query.OperationBucket{}
	for _, row := range rows {
		if spans[row.Service] == nil {
			spans[row.Service] = map[int64]uint64{}
		}
		spans[row.Service][row.Bucket] += row.Spans
		if row.Operation != "" {
			k := opKey{row.Service, row.Operation}
			byOp[k] = append(byOp[k], row)
		}
	}
	latency := isLatency(sc.Symptom.Metric)
	type rising struct {
		opKey
		lift float64
	}
	var rose []rising
	for k, buckets := range byOp {
		// The mean and deviation are over the buckets where the operation
		// has spans: in the others it has no share, not a share of 0.
		share := analysis.Series{}
		var base, win []int64
		for _, b := range buckets {
			share[b.Bucket] = float64(b.SelfErrors) / float64(b.Spans)
			if latency {
				share[b.Bucket] = b.SelfLatencyMsSum / float64(b.Spans)
			}
			switch {
			case sc.Baseline.Contains(b.Bucket):
				base = append(base, b.Bucket)
			case sc.Window.Contains(b.Bucket):
				win = append(win, b.Bucket)
			}
		}
		mb, mw := analysis.Mean(share, base), analysis.Mean(share, win)
		if len(win) == 0 || mw <= mb {
			continue
		}
		rose = append(rose, rising{k, (mw - mb) / (analysis.StdDev(share, base) + 0.001)})
	}
	slices.SortFunc(rose, func(a, b rising) int {
		return cmp.Or(cmp.Compare(b.lift, a.lift), cmp.Compare(a.service, b.service), cmp.Compare(a.name, b.name))
	})
	name := signalOperationErrors
	if latency {
		name = signalOperationLatency
	}
	perService := map[string]int{}
	var out []analysis.Candidate
	for _, op := range rose {
		if len(out) == operationsTotal {
			break
		}
		if perService[op.service] == operationsPerService {
			continue
		}
		perService[op.service]++
		x := analysis.Series{}
		for _, b := range byOp[op.opKey] {
			bad := float64(b.SelfErrors)
			if latency {
				bad = b.SelfLatencyMsSum
			}
			x[b.Bucket] = bad / float64(spans[op.service][b.Bucket])
		}
		out = append(out, analysis.Candidate{Kind: events.CauseOperation, ID: OperationPrefix + op.service + "/" + op.name,
			Service: op.service, Label: op.name, Specificity: 1,
			Signals: []analysis.Signal{{Name: name, X: x, Weight: operationWeight}}})
	}
	return out, nil
}
