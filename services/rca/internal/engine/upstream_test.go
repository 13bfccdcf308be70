package engine

import (
	"reflect"
	"testing"

	"github.com/medic-sre/medic/services/rca/internal/analysis"
	"github.com/medic-sre/medic/services/rca/internal/query"
)

// A service keeps only the missing data its callees did not already lack.
func TestPassOnMissing(t *testing.T) {
	missing := map[string]analysis.Series{
		"feature-service": {1: 1, 2: 0.6},
		"feature-store":   {1: 1, 2: 0},
	}
	calls := []query.Call{{Caller: "gateway", Callee: "feature-service"}, {Caller: "feature-service", Callee: "feature-store"}}
	tests := []struct {
		name    string
		service string
		x       analysis.Series
		want    []analysis.Signal
	}{
		{name: "passes on all it lacked", service: "feature-service", x: analysis.Series{1: 1},
			want: []analysis.Signal{{Name: "self_errors", X: analysis.Series{1: 0.5}}}},
		{name: "lost some itself", service: "feature-service", x: missing["feature-service"],
			want: []analysis.Signal{{Name: "self_errors", X: analysis.Series{1: 0.5}}, {Name: missingSignal, X: analysis.Series{1: 0, 2: 0.6}}}},
		{name: "the source keeps its own", service: "feature-store", x: missing["feature-store"],
			want: []analysis.Signal{{Name: "self_errors", X: analysis.Series{1: 0.5}}, {Name: missingSignal, X: analysis.Series{1: 1, 2: 0}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := analysis.Candidate{Service: tc.service, Signals: []analysis.Signal{
				{Name: "self_errors", X: analysis.Series{1: 0.5}}, {Name: missingSignal, X: tc.x}}}
			passOnMissing(&c, missing, calls)
			if !reflect.DeepEqual(c.Signals, tc.want) {
				t.Errorf("signals %+v, want %+v", c.Signals, tc.want)
			}
		})
	}
}
