package engine

import (
	"context"

	"github.com/medic-sre/medic/services/rca/internal/analysis"
	"github.com/medic-sre/medic/services/rca/internal/query"
)

// missingSignal is the name of a service's missing-data signal (see
// Services).
const missingSignal = "missing_data"

// OwnMissingData wraps the service candidates' generator so that a
// service's missing data counts only beyond what its callees already
// lacked: a feature-service that passes on the nulls of the store it
// reads from did not lose that data, the store did. It is the data
// counterpart of self errors, where a parent whose failing child explains
// its failure is not blamed.
func OwnMissingData(gen Generator) Generator {
	return func(ctx context.Context, r *query.Reader, sc *Scope) ([]analysis.Candidate, error) {
		cands, err := gen(ctx, r, sc)
		if err != nil {
			return nil, err
		}
		missing := map[string]analysis.Series{}
		for _, c := range cands {
			if x, ok := signal(c, missingSignal); ok {
				missing[c.Service] = x
			}
		}
		if len(missing) < 2 {
			return cands, nil // no callee to have passed anything on
		}
		calls, err := r.ServiceCalls(ctx, sc.Symptom.Model, sc.span())
		if err != nil {
			return nil, err
		}
		for i := range cands {
			passOnMissing(&cands[i], missing, calls)
		}
		return cands, nil
	}
}

// passOnMissing takes from c's missing-data signal, per bucket, the
// largest share its callees lacked; a signal left at 0 is dropped.
func passOnMissing(c *analysis.Candidate, missing map[string]analysis.Series, calls []query.Call) {
	for si, sig := range c.Signals {
		if sig.Name != missingSignal {
			continue
		}
		own, left := analysis.Series{}, false
		for b, v := range sig.X {
			upstream := 0.0
			for _, call := range calls {
				if call.Caller == c.Service {
					upstream = max(upstream, missing[call.Callee][b])
				}
			}
			own[b] = max(v-upstream, 0)
			left = left || own[b] > 0
		}
		if !left {
			c.Signals = append(c.Signals[:si], c.Signals[si+1:]...)
			return
		}
		c.Signals[si].X = own
		return
	}
}

// signal is c's signal of that name.
func signal(c analysis.Candidate, name string) (analysis.Series, bool) {
	for _, s := range c.Signals {
		if s.Name == name {
			return s.X, true
		}
	}
	return nil, false
}
