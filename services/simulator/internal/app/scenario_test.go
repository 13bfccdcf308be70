package app

import (
	"net/http"
	"testing"
	"time"

	"github.com/medic-sre/medic/services/simulator/internal/changes"
)

type modelAnswer struct {
	ActiveVersion   string `json:"active_version"`
	PreviousVersion string `json:"previous_version"`
	ChangeID        string `json:"change_id"`
	Warning         string `json:"warning"`
}

type statsAnswer struct {
	Requests      int     `json:"requests"`
	ErrorRate     float64 `json:"error_rate"`
	ActiveVersion string  `json:"active_version"`
}

type injectAnswer struct {
	Kind             string `json:"kind"`
	InjectedUnixNano int64  `json:"injected_unix_nano"`
	EndsUnixNano     int64  `json:"ends_unix_nano"`
	ChangeID         string `json:"change_id"`
}

// lastChange is the last change posted; a switch is posted before its
// answer, so no waiting is needed.
func lastChange(t *testing.T, s *sim, wantCount int) changes.Change {
	t.Helper()
	posted := s.changes.posted(t)
	if len(posted) != wantCount {
		t.Fatalf("%d changes posted, want %d: %+v", len(posted), wantCount, posted)
	}
	return posted[len(posted)-1]
}

// The incident Medic exists for, end to end through the real service: a bad
// deploy is announced, shows in the exported metrics, spans and logs, and a
// rollback over HTTP brings the error rate back down.
func TestBadDeployAndRollback(t *testing.T) {
	s := startSim(t, "http/protobuf")
	var injected injectAnswer
	if code := call(t, "POST", s.control+"/v1/faults", "integration-test", `{"kind":"bad_model_version"}`, &injected); code != 200 ||
		injected.Kind != "bad_model_version" || injected.InjectedUnixNano == 0 || injected.ChangeID == "" {
		t.Fatalf("inject: %d %+v", code, injected)
	}
	deploy := lastChange(t, s, 1)
	if deploy.Kind != "deploy" || deploy.ModelVersion != "v2" || deploy.PreviousVersion != "v1" || deploy.Actor != "integration-test" ||
		deploy.Service != "model-server" || deploy.Model != "fraud" || deploy.ChangeID != injected.ChangeID || deploy.TimeUnixNano == 0 {
		t.Fatalf("deploy change %+v, answer %+v", deploy, injected)
	}

	t.Run("metrics show v2 failing", func(t *testing.T) { checkMetrics(t, s.otlp) })
	t.Run("one trace spans three services", func(t *testing.T) { checkTrace(t, s.otlp) })

	var rolled modelAnswer
	if code := call(t, "POST", s.base+"/v1/models/fraud/rollback", "remediator", "", &rolled); code != 200 ||
		rolled.ActiveVersion != "v1" || rolled.ChangeID == "" || rolled.Warning != "" {
		t.Fatalf("rollback: %d %+v", code, rolled)
	}
	if rb := lastChange(t, s, 2); rb.Kind != "rollback" || rb.ModelVersion != "v1" || rb.PreviousVersion != "v2" ||
		rb.Actor != "remediator" || rb.ChangeID != rolled.ChangeID {
		t.Fatalf("rollback change %+v, answer %+v", rb, rolled)
	}
	var st statsAnswer
	pollFor(t, "error rate under 2% after the rollback", 15*time.Second, func() bool {
		call(t, "GET", s.control+"/v1/stats?window=1s", "", "", &st)
		return st.Requests > 100 && st.ErrorRate < 0.02 && st.ActiveVersion == "v1"
	})
	if code := call(t, "POST", s.control+"/v1/models/fraud/rollback", "remediator", "", &map[string]any{}); code != http.StatusConflict {
		t.Fatalf("second rollback: %d, want 409", code)
	}

	// The rollback ended the fault; injecting it again is a new injection.
	var state struct {
		Faults []string `json:"faults"`
	}
	if code := call(t, "GET", s.control+"/v1/state", "", "", &state); code != 200 || len(state.Faults) != 0 {
		t.Fatalf("state after the rollback: %d %+v, want no active fault", code, state)
	}
	first := injected.InjectedUnixNano
	if code := call(t, "POST", s.control+"/v1/faults", "integration-test", `{"kind":"bad_model_version"}`, &injected); code != 200 ||
		injected.InjectedUnixNano <= first {
		t.Fatalf("second inject: %d %+v, want a time after the first's %d", code, injected, first)
	}
	if again := lastChange(t, s, 3); again.Kind != "deploy" || again.ModelVersion != "v2" || again.ChangeID == deploy.ChangeID {
		t.Fatalf("second inject's change %+v, want a new deploy of v2", again)
	}
}

// A 1 s feature-null blip beside a slow dependency: the blip ends by itself
// and the requests after its end have their features again, while the slow
// dependency stays. Each request's feature-service span says whether a
// feature was null, at the request's time.
func TestFeatureNullBlip(t *testing.T) {
	s := startSim(t, "http/protobuf")
	if code := call(t, "POST", s.control+"/v1/faults", "", `{"kind":"slow_dependency"}`, nil); code != 200 {
		t.Fatalf("inject slow_dependency: %d", code)
	}
	var blip injectAnswer
	if code := call(t, "POST", s.control+"/v1/faults", "", `{"kind":"feature_nulls","duration":"1s"}`, &blip); code != 200 ||
		blip.EndsUnixNano-blip.InjectedUnixNano != int64(time.Second) {
		t.Fatalf("inject the blip: %d %+v", code, blip)
	}
	var state struct {
		Faults []string `json:"faults"`
	}
	pollFor(t, "the blip to end while the slow dependency stays", 5*time.Second, func() bool {
		call(t, "GET", s.control+"/v1/state", "", "", &state)
		return len(state.Faults) == 1 && state.Faults[0] == "slow_dependency"
	})
	// Requests are served up to one traffic tick after they arrive, so a
	// margin keeps the edges out of the count.
	margin := uint64(50 * time.Millisecond)
	injectedAt, endsAt := uint64(blip.InjectedUnixNano), uint64(blip.EndsUnixNano)
	var during, nullsDuring, after, nullsAfter int
	pollFor(t, "200 requests after the blip", 15*time.Second, func() bool {
		during, nullsDuring, after, nullsAfter = 0, 0, 0, 0
		for _, sp := range s.otlp.allSpans() {
			if sp.service != "feature-service" {
				continue
			}
			null := sp.attrs["feature.missing_ratio"] != "0"
			switch {
			case sp.startUnixNano > injectedAt+margin && sp.startUnixNano < endsAt-margin:
				during++
				nullsDuring += bit(null)
			case sp.startUnixNano > endsAt+margin:
				after++
				nullsAfter += bit(null)
			}
		}
		return after >= 200
	})
	if rate := float64(nullsDuring) / float64(during); during < 100 || rate < 0.45 || rate > 0.75 {
		t.Errorf("during the blip %d of %d requests had a null feature, want about 60%%", nullsDuring, during)
	}
	if nullsAfter != 0 {
		t.Errorf("after the blip %d of %d requests had a null feature, want none", nullsAfter, after)
	}
	// The feature-service's counters agree: the nulls are merchant_risk's.
	m := s.otlp.metrics()
	if missing := m.count("feature-service", "feature.missing", "feature", "merchant_risk"); missing < float64(nullsDuring) {
		t.Errorf("feature.missing{merchant_risk} = %v, want at least the %d nulls seen in spans", missing, nullsDuring)
	}
	if missing := m.count("feature-service", "feature.missing", "feature", "amount"); missing != 0 {
		t.Errorf("feature.missing{amount} = %v, want 0", missing)
	}
	// The slow dependency shows in the feature lookups' latency.
	if n, sum, _ := m.total("feature-service", "feature.latency_ms"); n == 0 || sum/n < 400 {
		t.Errorf("feature.latency_ms: %v lookups averaging %.0f ms, want over 400 ms with the slow dependency", n, sum/n)
	}
}

func bit(b bool) int {
	if b {
		return 1
	}
	return 0
}

// The control API answers on both listeners, and serves no webhook sink:
// that belongs to the demo, not to the watched system.
func TestControlListeners(t *testing.T) {
	s := startSim(t, "http/protobuf")
	for _, url := range []string{s.control, s.base} {
		if code := call(t, "GET", url+"/v1/webhook", "", "", nil); code != http.StatusNotFound {
			t.Fatalf("GET /v1/webhook on %s: %d, want 404", url, code)
		}
		var state struct {
			Models map[string]modelAnswer `json:"models"`
			Faults []string               `json:"faults"`
		}
		if code := call(t, "GET", url+"/v1/state", "", "", &state); code != 200 || state.Models["fraud"].ActiveVersion != "v1" {
			t.Fatalf("state from %s: %d %+v", url, code, state)
		}
	}
	// Health and the program's own metrics are on the main listener only.
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200} {
		if code := call(t, "GET", s.base+path, "", "", nil); code != want {
			t.Errorf("GET %s: %d, want %d", path, code, want)
		}
		if code := call(t, "GET", s.control+path, "", "", nil); code != http.StatusNotFound {
			t.Errorf("GET %s on the control listener: %d, want 404", path, code)
		}
	}
}
