package engine

import (
	"context"
	"strings"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/rca/internal/analysis"
	"github.com/medic-sre/medic/services/rca/internal/query"
)

// InstancePrefix starts the ID of an instance's candidate:
// "instance:<service>/<instance>". An instance is a part of its service,
// so its candidate is of kind service and names that service.
const InstancePrefix = "instance:"

// Weights of an instance's signals against its service's. Without
// evidence of its own, an instance that carries all of its service's
// excess ranks just below the service, the safer name; when its own
// resources (CPU, memory) saturated as well, it ranks above: that pod is
// the one to drain or restart.
const (
	instanceWeight  = analysis.WeightService * 0.95
	saturatedWeight = analysis.WeightService * 1.25
)

// Instances proposes each instance (service.instance.id, else
// k8s.pod.name) of a service seen as two or more instances in the spans.
// Its signal is its share of its service's self errors (self latency for
// a latency symptom): its self errors or self time over all the service's
// spans in the bucket, so that the instances' signals add up to the
// service's. An instance whose own resource metrics rose (see saturated)
// gets that signal again at a higher weight.
func Instances(ctx context.Context, r *query.Reader, sc *Scope) ([]analysis.Candidate, error) {
	rows, err := r.InstanceBehaviour(ctx, sc.Symptom.Model, sc.span())
	if err != nil {
		return nil, err
	}
	spans := map[string]map[int64]uint64{}
	seen := map[string]map[string]bool{}
	for _, row := range rows {
		if spans[row.Service] == nil {
			spans[row.Service], seen[row.Service] = map[int64]uint64{}, map[string]bool{}
		}
		spans[row.Service][row.Bucket] += row.Spans
		seen[row.Service][row.Instance] = true
	}
	latency := isLatency(sc.Symptom.Metric)
	byID := map[string]*analysis.Candidate{}
	var order []string
	for _, row := range rows {
		if len(seen[row.Service]) < 2 {
			continue // the one instance is the service
		}
		id := InstancePrefix + row.Service + "/" + row.Instance
		c, ok := byID[id]
		if !ok {
			c = &analysis.Candidate{Kind: events.CauseService, ID: id, Service: row.Service, Specificity: 1,
				Signals: []analysis.Signal{{Name: selfSignal(latency), X: analysis.Series{}, Weight: instanceWeight}}}
			byID[id] = c
			order = append(order, id)
		}
		bad := float64(row.SelfErrors)
		if latency {
			bad = row.SelfLatencyMsSum
		}
		c.Signals[0].X[row.Bucket] = bad / float64(spans[row.Service][row.Bucket])
	}
	resources, err := r.InstanceResources(ctx, sc.span())
	if err != nil {
		return nil, err
	}
	rose := saturated(resources, sc.Baseline, sc.Window)
	out := make([]analysis.Candidate, 0, len(order))
	for _, id := range order {
		c := byID[id]
		if ev, ok := rose[id]; ok {
			c.Evidence = ev
			c.Signals = append(c.Signals, analysis.Signal{Name: "saturated_" + c.Signals[0].Name, X: c.Signals[0].X, Weight: saturatedWeight})
		}
		out = append(out, *c)
	}
	return out, nil
}

func selfSignal(latency bool) string {
	if latency {
		return "self_latency"
	}
	return "self_errors"
}

// saturated finds the instances whose resource metrics rose in the window:
// a mean more than 3 baseline standard deviations and 20% above the
// baseline's, from at least 5 baseline buckets. It returns, by candidate
// ID, the risen metrics' means as evidence.
func saturated(rows []query.ResourceBucket, baseline, window analysis.Range) map[string]map[string]float64 {
	type key struct{ id, name string }
	series := map[key]analysis.Series{}
	for _, row := range rows {
		k := key{InstancePrefix + row.Service + "/" + row.Instance, row.Name}
		if series[k] == nil {
			series[k] = analysis.Series{}
		}
		series[k][row.Bucket] = row.Value
	}
	out := map[string]map[string]float64{}
	for k, s := range series {
		f := analysis.NewFrame(s, baseline, window)
		if len(f.Baseline) < 5 || len(f.Window) == 0 {
			continue
		}
		meanB, meanW := analysis.Mean(s, f.Baseline), analysis.Mean(s, f.Window)
		if meanW <= meanB+3*analysis.StdDev(s, f.Baseline) || meanW <= 1.2*meanB {
			continue
		}
		if out[k.id] == nil {
			out[k.id] = map[string]float64{}
		}
		name := strings.ReplaceAll(k.name, ".", "_")
		out[k.id][name+"_baseline"], out[k.id][name+"_window"] = meanB, meanW
	}
	return out
}
