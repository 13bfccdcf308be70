package engine

import (
	"cmp"
	"context"
	"slices"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/rca/internal/analysis"
	"github.com/medic-sre/medic/services/rca/internal/query"
)

// FeaturePrefix starts the ID of a feature's candidate:
// "feature:<model>/<feature>".
const FeaturePrefix = "feature:"

// Feature signal names; see signalQueries.
const (
	signalFeatureNulls      = "feature_nulls"
	signalFeatureOutOfRange = "feature_out_of_range"
)

// featureWeight is a feature's weight against its service's missing data
// (analysis.WeightServiceData). The null feature is what went wrong, the
// service that served it where; a responder acts on the service, so with
// the same evidence the feature ranks just below it, and above whatever
// the service outranks.
const featureWeight = analysis.WeightServiceData * 0.95

// Features proposes each feature of a model whose share of null values, or
// of values outside the baseline's range, rose in the window. A feature is
// read from its service's <x>.missing and <x>.values counters with the
// attribute feature, or from an inference log's points (see
// query.FeatureNulls and query.FeatureOutOfRange); its candidate names the
// model and the service that served the feature. As a service's missing
// data (see OwnMissingData), a feature's nulls count only beyond what the
// service's callees already lacked of that feature: a feature-service that
// passes on the nulls of its store did not lose the data, the store did,
// and the store's missing data says so.
func Features(ctx context.Context, r *query.Reader, sc *Scope) ([]analysis.Candidate, error) {
	nulls, err := r.FeatureNulls(ctx, sc.Symptom.Model, sc.span())
	if err != nil {
		return nil, err
	}
	outside, err := r.FeatureOutOfRange(ctx, sc.Symptom.Model, query.Range(sc.Baseline), sc.span())
	if err != nil {
		return nil, err
	}
	if len(nulls)+len(outside) == 0 {
		return nil, nil
	}
	nullSeries := featureSeries(nulls)
	if err := ownNulls(ctx, r, sc, nullSeries); err != nil {
		return nil, err
	}
	var out []analysis.Candidate
	for _, sig := range []struct {
		name   string
		series map[featureKey]analysis.Series
	}{{signalFeatureNulls, nullSeries}, {signalFeatureOutOfRange, featureSeries(outside)}} {
		for _, k := range sortedKeys(sig.series) {
			x := sig.series[k]
			meanB, meanW := rangeMean(x, sc.Baseline), rangeMean(x, sc.Window)
			if k.model == "" || meanW <= meanB {
				continue
			}
			out = append(out, analysis.Candidate{Kind: events.CauseFeature, ID: FeaturePrefix + k.model + "/" + k.feature,
				Service: k.service, Model: k.model, Label: k.feature, Specificity: 1,
				Signals:  []analysis.Signal{{Name: sig.name, X: x, Weight: featureWeight}},
				Evidence: map[string]float64{sig.name + "_baseline": meanB, sig.name + "_window": meanW}})
		}
	}
	return out, nil
}

// featureKey is one feature of one model as one service reported it.
type featureKey struct{ service, model, feature string }

// featureSeries is each feature's share of bad values per bucket.
func featureSeries(rows []query.FeatureBucket) map[featureKey]analysis.Series {
	out := map[featureKey]analysis.Series{}
	for _, row := range rows {
		if row.Total <= 0 {
			continue
		}
		k := featureKey{row.Service, row.Model, row.Feature}
		if out[k] == nil {
			out[k] = analysis.Series{}
		}
		out[k][row.Bucket] = row.Bad / row.Total
	}
	return out
}

// ownNulls takes from each feature's null share, per bucket, the largest
// share of that feature (for any model, or none) its service's callees
// lacked. It reads the calls only when two services report features.
func ownNulls(ctx context.Context, r *query.Reader, sc *Scope, series map[featureKey]analysis.Series) error {
	services := map[string]bool{}
	for k := range series {
		services[k.service] = true
	}
	if len(services) < 2 {
		return nil
	}
	calls, err := r.ServiceCalls(ctx, sc.Symptom.Model, sc.span())
	if err != nil {
		return err
	}
	upstream := map[featureKey]analysis.Series{}
	for k := range series {
		for _, call := range calls {
			if call.Caller != k.service {
				continue
			}
			for up, upX := range series {
				if up.service != call.Callee || up.feature != k.feature {
					continue
				}
				if upstream[k] == nil {
					upstream[k] = analysis.Series{}
				}
				for b, v := range upX {
					upstream[k][b] = max(upstream[k][b], v)
				}
			}
		}
	}
	for k, up := range upstream {
		for b, v := range series[k] {
			series[k][b] = max(v-up[b], 0)
		}
	}
	return nil
}

// sortedKeys are the series' keys in order, so that candidates come out
// the same way every time.
func sortedKeys(series map[featureKey]analysis.Series) []featureKey {
	keys := make([]featureKey, 0, len(series))
	for k := range series {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b featureKey) int {
		return cmp.Or(cmp.Compare(a.model, b.model), cmp.Compare(a.feature, b.feature), cmp.Compare(a.service, b.service))
	})
	return keys
}
