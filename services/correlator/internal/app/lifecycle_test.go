package app

import (
	"slices"
	"testing"

	"github.com/medic-sre/medic/services/correlator/internal/correlate"
)

// The lifecycle consumer's routes take exactly the types its filter lets
// through: a type filtered in without a route would be dead-lettered.
func TestLifecycleRoutesCoverTypes(t *testing.T) {
	var routed []string
	for _, r := range lifecycleRoutes(&correlate.Handler{}) {
		routed = append(routed, r.Types()...)
	}
	want := slices.Clone(correlate.Types)
	slices.Sort(routed)
	slices.Sort(want)
	if !slices.Equal(routed, want) {
		t.Fatalf("routes take %v, the filter lets through %v", routed, want)
	}
}
