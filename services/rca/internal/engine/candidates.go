package engine

import (
	"context"
	"slices"
	"strings"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/rca/internal/analysis"
	"github.com/medic-sre/medic/services/rca/internal/query"
)

// symptomSeries is the symptom per bucket over all versions. A bucket with
// no mass (a ratio's denominator at 0: no requests) has no value.
func symptomSeries(rows []query.VersionBucket) analysis.Series {
	sum, total := bucketTotals(rows)
	for b, t := range total {
		if t > 0 {
			sum[b] /= t
		} else {
			delete(sum, b)
		}
	}
	return sum
}

// bucketTotals are the rows' Sum and Total per bucket, over all versions.
func bucketTotals(rows []query.VersionBucket) (sum, total analysis.Series) {
	sum, total = analysis.Series{}, analysis.Series{}
	for _, r := range rows {
		sum[r.Bucket] += r.Sum
		total[r.Bucket] += r.Total
	}
	return sum, total
}

// ModelVersions proposes each model version that served the symptom metric.
// Its signal is the symptom's mass it served over all requests of the
// bucket (for a ratio A / B: its A over the B of all versions), so the
// versions' signals add up to the symptom.
//
// For a latency symptom it proposes none: served mass is then the whole
// latency of the requests a version served, its callees' included, so a
// version deployed just before a slow dependency would take the blame for
// it merely by serving all traffic (issue #5, defect 5). A version that is
// slow itself shows as its service's self latency, near its deploy.
func ModelVersions(_ context.Context, _ *query.Reader, sc *Scope) ([]analysis.Candidate, error) {
	if isLatency(sc.Symptom.Metric) {
		return nil, nil
	}
	_, total := bucketTotals(sc.SymptomRows)
	var totalB, totalW float64
	for _, r := range sc.SymptomRows {
		totalB, totalW = totalB+inRange(sc.Baseline, r), totalW+inRange(sc.Window, r)
	}
	type key struct{ model, version string }
	byVersion := map[key]*analysis.Candidate{}
	shares := map[key][2]float64{}
	var order []key
	for _, r := range sc.SymptomRows {
		k := key{r.Model, r.ModelVersion}
		if k.model == "" || k.version == "" {
			continue
		}
		c, ok := byVersion[k]
		if !ok {
			c = &analysis.Candidate{Kind: events.CauseModelVersion, ID: "model_version:" + k.model + "@" + k.version,
				Model: k.model, ModelVersion: k.version,
				Signals: []analysis.Signal{{Name: "served", X: analysis.Series{}, Weight: analysis.WeightModelVersion}}}
			byVersion[k] = c
			order = append(order, k)
		}
		if total[r.Bucket] > 0 {
			c.Signals[0].X[r.Bucket] += r.Sum / total[r.Bucket]
		}
		s := shares[k]
		shares[k] = [2]float64{s[0] + inRange(sc.Baseline, r), s[1] + inRange(sc.Window, r)}
	}
	out := make([]analysis.Candidate, 0, len(order))
	for _, k := range order {
		c := byVersion[k]
		shareB, shareW := ratio(shares[k][0], totalB), ratio(shares[k][1], totalW)
		c.Specificity = specificity(shareB, shareW, totalB > 0, totalW > 0)
		c.Evidence = map[string]float64{"share_baseline": shareB, "share_window": shareW}
		out = append(out, *c)
	}
	return out, nil
}

// Services proposes each service seen in spans or missing-data metrics
// (see query.MissingData), with its
// self errors (self latency for a latency symptom), its error logs per span
// and its missing data.
func Services(ctx context.Context, r *query.Reader, sc *Scope) ([]analysis.Candidate, error) {
	self, err := sc.selfBehaviour(ctx, r)
	if err != nil {
		return nil, err
	}
	latency := isLatency(sc.Symptom.Metric)
	signals := map[string]map[string]analysis.Series{}
	add := func(service, signal string, b int64, v float64) {
		if signals[service] == nil {
			signals[service] = map[string]analysis.Series{}
		}
		if signals[service][signal] == nil {
			signals[service][signal] = analysis.Series{}
		}
		signals[service][signal][b] = max(signals[service][signal][b], v)
	}
	spans := map[string]map[int64]uint64{}
	for _, s := range self {
		if spans[s.Service] == nil {
			spans[s.Service] = map[int64]uint64{}
		}
		spans[s.Service][s.Bucket] = s.Spans
		if latency {
			add(s.Service, "self_latency", s.Bucket, s.SelfLatencyMs)
		} else {
			add(s.Service, "self_errors", s.Bucket, float64(s.SelfErrors)/float64(s.Spans))
		}
	}
	if !latency {
		logs, err := r.ErrorLogs(ctx, sc.Symptom.Model, sc.span())
		if err != nil {
			return nil, err
		}
		for _, l := range logs {
			// Per span, so that the signal is a rate like the symptom; logs
			// of a service with no spans in the bucket say nothing here.
			if n := spans[l.Service][l.Bucket]; n > 0 {
				add(l.Service, "error_logs", l.Bucket, float64(l.Errors)/float64(n))
			}
		}
		missing, err := r.MissingData(ctx, sc.Symptom.Model, sc.span())
		if err != nil {
			return nil, err
		}
		for _, m := range missing {
			add(m.Service, "missing_data", m.Bucket, m.Share)
		}
	}
	return serviceCandidates(signals), nil
}

// signalWeights are the weights of the services' signals.
var signalWeights = map[string]float64{
	"self_errors": analysis.WeightService, "self_latency": analysis.WeightService, "error_logs": analysis.WeightService,
	"missing_data": analysis.WeightServiceData,
}

func serviceCandidates(signals map[string]map[string]analysis.Series) []analysis.Candidate {
	out := make([]analysis.Candidate, 0, len(signals))
	for service, bySignal := range signals {
		c := analysis.Candidate{Kind: events.CauseService, ID: "service:" + service, Service: service, Specificity: 1}
		for name, x := range bySignal {
			c.Signals = append(c.Signals, analysis.Signal{Name: name, X: x, Weight: signalWeights[name]})
		}
		// Signals in name order keep ties between them deterministic.
		slices.SortFunc(c.Signals, func(a, b analysis.Signal) int { return strings.Compare(a.Name, b.Name) })
		out = append(out, c)
	}
	return out
}

// specificity is 1 minus the least share of requests a version served in
// the periods that hold data. A period without data says nothing: with no
// baseline, a version that served the whole window singles nothing out,
// rather than looking new because it served 0% of nothing.
func specificity(shareB, shareW float64, haveB, haveW bool) float64 {
	switch {
	case haveB && haveW:
		return 1 - min(shareB, shareW)
	case haveW:
		return 1 - shareW
	case haveB:
		return 1 - shareB
	default:
		return 0
	}
}

// isLatency reports whether a symptom metric is a latency.
func isLatency(metric string) bool { return strings.Contains(metric, "latency") }

// inRange is the row's mass (requests served) when its bucket is in rg,
// else 0.
func inRange(rg analysis.Range, r query.VersionBucket) float64 {
	if rg.Contains(r.Bucket) {
		return r.Total
	}
	return 0
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
