package control

import (
	"testing"
)

// config_change announces a config change of the model-server before it
// bites, once per injection, and its clear announces the revert.
func TestConfigChangeIsAnnounced(t *testing.T) {
	a := newAPI(t)
	inject := `{"kind":"config_change"}`
	code, out := a.do(t, "POST", "/v1/faults", "", inject)
	if code != 200 || out["change_id"] == "" || out["change_id"] == nil {
		t.Fatalf("inject: %d %v, want 200 with a change_id", code, out)
	}
	if code, out := a.do(t, "POST", "/v1/faults", "", inject); code != 200 || out["change_id"] != nil {
		t.Fatalf("re-inject: %d %v, want 200 and no second change", code, out)
	}
	if code, out := a.do(t, "DELETE", "/v1/faults/config_change", "", ""); code != 200 || out["change_id"] == nil {
		t.Fatalf("clear: %d %v, want 200 with the revert's change_id", code, out)
	}
	got := a.recorded()
	if len(got) != 2 {
		t.Fatalf("posted %d changes, want the change and its revert: %+v", len(got), got)
	}
	for i, c := range got {
		if c.Kind != ConfigChangeKind || c.Service != "model-server" || c.ModelVersion != "" {
			t.Errorf("change %d: %+v, want a config change of the model-server", i, c)
		}
	}
	if got[0].ChangeID != out["change_id"] {
		t.Errorf("first change %s, inject answered %v", got[0].ChangeID, out["change_id"])
	}
	if kinds, _ := stateFaults(t, a); len(kinds) != 0 {
		t.Errorf("faults %v after the clear", kinds)
	}
}
