package control

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// stateFaults reads GET /v1/state: the active kinds and their details.
func stateFaults(t *testing.T, a *api) ([]string, map[string]map[string]any) {
	t.Helper()
	code, out := a.do(t, "GET", "/v1/state", "", "")
	if code != 200 {
		t.Fatalf("state: %d %v", code, out)
	}
	var kinds []string
	list, _ := out["faults"].([]any)
	for _, k := range list {
		kinds = append(kinds, k.(string))
	}
	details := map[string]map[string]any{}
	active, _ := out["active_faults"].([]any)
	for _, f := range active {
		m := f.(map[string]any)
		details[m["kind"].(string)] = m
	}
	return kinds, details
}

// bad_model_version is listed exactly while v2 serves, whatever switched
// the model, and the other faults are left alone.
func TestFaultsFollowTheServingVersion(t *testing.T) {
	injectBad := call{"POST", "/v1/faults", "", `{"kind":"bad_model_version"}`}
	injectSlow := call{"POST", "/v1/faults", "", `{"kind":"slow_dependency"}`}
	rollback := call{"POST", "/v1/models/fraud/rollback", "remediator", ""}
	failover := func(on bool) call {
		return call{"POST", "/v1/models/fraud/failover", "remediator", map[bool]string{true: `{"enabled":true}`, false: `{"enabled":false}`}[on]}
	}
	tests := []struct {
		name       string
		calls      []call
		wantFaults string
	}{
		{name: "injected", calls: []call{injectBad}, wantFaults: "bad_model_version"},
		{name: "rollback ends it", calls: []call{injectBad, rollback}, wantFaults: ""},
		{name: "failover to the backup ends it", calls: []call{injectBad, failover(true)}, wantFaults: ""},
		{name: "deploying v1 ends it", calls: []call{injectBad, {"PUT", "/v1/models/fraud/active", "", `{"version":"v1"}`}}, wantFaults: ""},
		{name: "the end of the failover brings v2 back", calls: []call{injectBad, failover(true), failover(false)}, wantFaults: "bad_model_version"},
		{name: "deploying v2 by hand is the bad version serving", calls: []call{{"PUT", "/v1/models/fraud/active", "", `{"version":"v2"}`}},
			wantFaults: "bad_model_version"},
		{name: "two faults at once", calls: []call{injectBad, injectSlow}, wantFaults: "bad_model_version,slow_dependency"},
		{name: "rollback ends only the bad version", calls: []call{injectSlow, injectBad, rollback}, wantFaults: "slow_dependency"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newAPI(t)
			for _, c := range tc.calls {
				if code, out := a.do(t, c.method, c.path, c.actor, c.body); code != 200 {
					t.Fatalf("%v: %d %v", c, code, out)
				}
			}
			kinds, details := stateFaults(t, a)
			if got := strings.Join(kinds, ","); got != tc.wantFaults {
				t.Fatalf("faults %q, want %q", got, tc.wantFaults)
			}
			if len(details) != len(kinds) {
				t.Fatalf("active_faults %v does not match faults %v", details, kinds)
			}
		})
	}
}

// Issue #5, defect 9: after Medic's rollback, a second injection is a new
// injection, with its own time and its own change event.
func TestReinjectAfterRollback(t *testing.T) {
	a := newAPI(t)
	t1 := time.Unix(1_700_000_000, 0)
	inject := func(at time.Time) map[string]any {
		a.setNow(at)
		code, out := a.do(t, "POST", "/v1/faults", "", `{"kind":"bad_model_version"}`)
		if code != 200 {
			t.Fatalf("inject: %d %v", code, out)
		}
		return out
	}
	first := inject(t1)
	a.setNow(t1.Add(5 * time.Second))
	if code, out := a.do(t, "POST", "/v1/models/fraud/rollback", "remediator", ""); code != 200 {
		t.Fatalf("rollback: %d %v", code, out)
	}
	if kinds, _ := stateFaults(t, a); len(kinds) != 0 {
		t.Fatalf("faults after the rollback %v, want none", kinds)
	}
	t3 := t1.Add(10 * time.Second)
	second := inject(t3)
	if second["injected_unix_nano"] != float64(t3.UnixNano()) {
		t.Fatalf("second injection at %v, want %d (first %v)", second["injected_unix_nano"], t3.UnixNano(), first["injected_unix_nano"])
	}
	if second["change_id"] == nil || second["change_id"] == first["change_id"] {
		t.Fatalf("second injection's change %v, first's %v: want a change of its own", second["change_id"], first["change_id"])
	}
	_, details := stateFaults(t, a)
	if got := details["bad_model_version"]["injected_unix_nano"]; got != float64(t3.UnixNano()) {
		t.Fatalf("state says injected at %v, want %d", got, t3.UnixNano())
	}
	var got []string
	for _, c := range a.recorded() {
		got = append(got, c.Kind+"/"+c.ModelVersion)
	}
	if want := []string{"deploy/v2", "rollback/v1", "deploy/v2"}; !slices.Equal(got, want) {
		t.Fatalf("changes %v, want %v", got, want)
	}
}

// A fault injected with a duration ends by itself; one without stays, so
// two faults can overlap and end apart.
func TestTimedFaults(t *testing.T) {
	tests := []struct {
		name        string
		calls       []call
		wantAfter   string   // the faults left once the timed one ended
		wantChanges []string // kind/version/actor
	}{
		{name: "a feature-null blip beside a slow dependency",
			calls: []call{{"POST", "/v1/faults", "", `{"kind":"slow_dependency"}`},
				{"POST", "/v1/faults", "", `{"kind":"feature_nulls","duration":"100ms"}`}},
			wantAfter: "slow_dependency"},
		{name: "a timed bad version is rolled back",
			calls: []call{{"POST", "/v1/faults", "chaos", `{"kind":"bad_model_version","duration":"100ms"}`},
				{"POST", "/v1/faults", "", `{"kind":"slow_dependency"}`}},
			wantAfter: "slow_dependency", wantChanges: []string{"deploy/v2/chaos", "rollback/v1/chaos"}},
		{name: "a re-injection sets a new end",
			calls: []call{{"POST", "/v1/faults", "", `{"kind":"feature_nulls","duration":"1h"}`},
				{"POST", "/v1/faults", "", `{"kind":"feature_nulls","duration":"100ms"}`}},
			wantAfter: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newAPI(t)
			for _, c := range tc.calls {
				if code, out := a.do(t, c.method, c.path, c.actor, c.body); code != 200 {
					t.Fatalf("%v: %d %v", c, code, out)
				}
			}
			var kinds []string
			pollFor(t, "the timed fault to end", 5*time.Second, func() bool {
				kinds, _ = stateFaults(t, a)
				return strings.Join(kinds, ",") == tc.wantAfter
			})
			var got []string
			for _, c := range a.recorded() {
				got = append(got, c.Kind+"/"+c.ModelVersion+"/"+c.Actor)
			}
			if !slices.Equal(got, tc.wantChanges) {
				t.Fatalf("changes %v, want %v", got, tc.wantChanges)
			}
		})
	}
}

// A timer of an injection that was cleared, or replaced by a permanent
// injection, ends nothing.
func TestStaleTimerEndsNothing(t *testing.T) {
	tests := []struct {
		name  string
		calls []call
	}{
		{name: "cleared and injected again", calls: []call{{"POST", "/v1/faults", "", `{"kind":"feature_nulls","duration":"1h"}`},
			{"DELETE", "/v1/faults/feature_nulls", "", ""}, {"POST", "/v1/faults", "", `{"kind":"feature_nulls"}`}}},
		{name: "injected again without a duration", calls: []call{{"POST", "/v1/faults", "", `{"kind":"feature_nulls","duration":"1h"}`},
			{"POST", "/v1/faults", "", `{"kind":"feature_nulls"}`}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newAPI(t)
			for _, c := range tc.calls {
				if code, out := a.do(t, c.method, c.path, c.actor, c.body); code != 200 {
					t.Fatalf("%v: %d %v", c, code, out)
				}
			}
			// The first injection's timer was number 1: fire it by hand
			// rather than wait an hour.
			a.ctrl.expire("feature_nulls", 1, "test")
			kinds, details := stateFaults(t, a)
			if strings.Join(kinds, ",") != "feature_nulls" || details["feature_nulls"]["ends_unix_nano"] != nil {
				t.Fatalf("faults %v %v, want feature_nulls lasting until cleared", kinds, details)
			}
		})
	}
}

// pollFor calls cond until it holds, failing the test after timeout.
func pollFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
