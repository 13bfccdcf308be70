package control

import (
	"fmt"
	"slices"
	"testing"

	"github.com/medic-sre/medic/services/simulator/internal/fault"
)

// The scenario suite's kinds go through the same API as the others.
func TestSuiteFaultKindsThroughTheAPI(t *testing.T) {
	for _, kind := range []string{fault.FeatureDrift, fault.CategoricalShift, fault.OutOfRange, fault.AccuracyDrop,
		fault.WorseCanary, fault.ErrorBurst, fault.ThroughputDrop, fault.MemoryExhaustion} {
		t.Run(kind, func(t *testing.T) {
			a := newAPI(t)
			if code, out := a.do(t, "POST", "/v1/faults", "", fmt.Sprintf(`{"kind":%q}`, kind)); code != 200 {
				t.Fatalf("inject: %d %v", code, out)
			}
			_, state := a.do(t, "GET", "/v1/state", "", "")
			if listed, _ := state["faults"].([]any); !slices.Contains(listed, any(kind)) {
				t.Fatalf("state lists faults %v, want %s", state["faults"], kind)
			}
			if code, out := a.do(t, "DELETE", "/v1/faults/"+kind, "", ""); code != 200 || out["cleared"] != true {
				t.Fatalf("clear: %d %v", code, out)
			}
			if a.ctrl.Faults.Active(kind) {
				t.Errorf("%s still active after DELETE", kind)
			}
			if got := a.recorded(); len(got) != 0 {
				t.Errorf("%s recorded changes %v, want none: it is no model switch", kind, got)
			}
		})
	}
}
