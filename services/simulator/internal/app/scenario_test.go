package app

import (
	"net/http"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/servicetest"
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

// The incident Medic exists for, end to end through the real service: a bad
// deploy is recorded on the bus, shows in telemetry, spans and logs, and a
// rollback over HTTP brings the error rate back down.
func TestBadDeployAndRollback(t *testing.T) {
	s := startSim(t)
	changes := consumer(t, s.js, bus.StreamEvents, "test-changes", events.TypeChangeRecorded)
	points := consumer(t, s.js, bus.StreamTelemetry, "test-points", events.TypeTelemetryPoints)

	var injected struct {
		Kind             string `json:"kind"`
		InjectedUnixNano int64  `json:"injected_unix_nano"`
	}
	if code := call(t, "POST", s.control+"/v1/faults", "integration-test", `{"kind":"bad_model_version"}`, &injected); code != 200 || injected.Kind != "bad_model_version" || injected.InjectedUnixNano == 0 {
		t.Fatalf("inject: %d %+v", code, injected)
	}
	deploy := nextChange(t, changes)
	if deploy.Kind != "deploy" || deploy.ModelVersion != "v2" || deploy.PreviousVersion != "v1" || deploy.Actor != "integration-test" ||
		deploy.Service != "model-server" || deploy.Model != "fraud" {
		t.Fatalf("deploy change %+v", deploy)
	}

	t.Run("telemetry shows v2 failing", func(t *testing.T) { checkTelemetry(t, points) })
	t.Run("one trace spans three services in ClickHouse, via the bus", func(t *testing.T) { checkTrace(t, s) })

	var rolled modelAnswer
	if code := call(t, "POST", s.base+"/v1/models/fraud/rollback", "remediator", "", &rolled); code != 200 ||
		rolled.ActiveVersion != "v1" || rolled.ChangeID == "" || rolled.Warning != "" {
		t.Fatalf("rollback: %d %+v", code, rolled)
	}
	if rb := nextChange(t, changes); rb.Kind != "rollback" || rb.ModelVersion != "v1" || rb.PreviousVersion != "v2" ||
		rb.Actor != "remediator" || rb.ChangeID != rolled.ChangeID {
		t.Fatalf("rollback change %+v, answer %+v", rb, rolled)
	}
	var st statsAnswer
	servicetest.PollFor(t, "error rate under 2% after the rollback", 15*time.Second, func() bool {
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
	if again := nextChange(t, changes); again.Kind != "deploy" || again.ModelVersion != "v2" || again.ChangeID == deploy.ChangeID {
		t.Fatalf("second inject's change %+v, want a new deploy of v2", again)
	}
}

// A 1 s feature-null blip beside a slow dependency: the blip ends by itself
// and the requests after its end have their features again, while the slow
// dependency stays.
func TestFeatureNullBlip(t *testing.T) {
	s := startSim(t)
	points := consumer(t, s.js, bus.StreamTelemetry, "test-points", events.TypeTelemetryPoints)
	if code := call(t, "POST", s.control+"/v1/faults", "", `{"kind":"slow_dependency"}`, nil); code != 200 {
		t.Fatalf("inject slow_dependency: %d", code)
	}
	var blip struct {
		InjectedUnixNano int64 `json:"injected_unix_nano"`
		EndsUnixNano     int64 `json:"ends_unix_nano"`
	}
	if code := call(t, "POST", s.control+"/v1/faults", "", `{"kind":"feature_nulls","duration":"1s"}`, &blip); code != 200 ||
		blip.EndsUnixNano-blip.InjectedUnixNano != int64(time.Second) {
		t.Fatalf("inject the blip: %d %+v", code, blip)
	}
	var state struct {
		Faults []string `json:"faults"`
	}
	servicetest.PollFor(t, "the blip to end while the slow dependency stays", 5*time.Second, func() bool {
		call(t, "GET", s.control+"/v1/state", "", "", &state)
		return len(state.Faults) == 1 && state.Faults[0] == "slow_dependency"
	})
	// Requests are served up to one traffic tick after they arrive, so a
	// margin keeps the edges out of the count.
	margin := int64(50 * time.Millisecond)
	var during, nullsDuring, after, nullsAfter int
	telemetry(t, points, func(p events.Point) bool {
		if p.Name != "feature.missing_ratio" {
			return false
		}
		null := p.Value > 0
		switch {
		case p.TimeUnixNano > blip.InjectedUnixNano+margin && p.TimeUnixNano < blip.EndsUnixNano-margin:
			during++
			nullsDuring += bit(null)
		case p.TimeUnixNano > blip.EndsUnixNano+margin:
			after++
			nullsAfter += bit(null)
		}
		return after >= 200
	})
	if rate := float64(nullsDuring) / float64(during); during < 100 || rate < 0.45 || rate > 0.75 {
		t.Errorf("during the blip %d of %d requests had a null feature, want about 60%%", nullsDuring, during)
	}
	if nullsAfter != 0 {
		t.Errorf("after the blip %d of %d requests had a null feature, want none", nullsAfter, after)
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
	s := startSim(t)
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
}
