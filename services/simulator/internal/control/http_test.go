package control

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medic-sre/medic/services/simulator/internal/changes"
	"github.com/medic-sre/medic/services/simulator/internal/fault"
	"github.com/medic-sre/medic/services/simulator/internal/model"
	"github.com/medic-sre/medic/services/simulator/internal/stats"
)

type api struct {
	srv    *httptest.Server
	ctrl   *Controller
	clock  atomic.Int64 // the controller's time, in unix nanoseconds
	mu     sync.Mutex   // guards posted and fail: timers publish too
	posted []changes.Change
	fail   error
}

// setNow moves the controller's clock.
func (a *api) setNow(t time.Time) { a.clock.Store(t.UnixNano()) }

// recorded returns the changes posted so far.
func (a *api) recorded() []changes.Change {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]changes.Change(nil), a.posted...)
}

func newAPI(t *testing.T) *api {
	t.Helper()
	a := &api{}
	now := time.Unix(1_700_000_000, 0)
	a.setNow(now)
	window := stats.NewWindow(time.Minute)
	window.Record(now.Add(-time.Second), 10, true)
	window.Record(now.Add(-500*time.Millisecond), 30, false)
	c := &Controller{Models: map[string]*model.Registry{model.Name: model.NewRegistry([]string{model.V1, model.V2}, model.Backup, model.V1)},
		Faults: fault.NewSet(), Stats: window, Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return time.Unix(0, a.clock.Load()) },
		Changes: func(_ context.Context, c changes.Change) error {
			a.mu.Lock()
			defer a.mu.Unlock()
			if a.fail != nil {
				return a.fail
			}
			a.posted = append(a.posted, c)
			return nil
		}}
	a.ctrl = c
	a.srv = httptest.NewServer(Handler(c))
	t.Cleanup(a.srv.Close)
	t.Cleanup(c.Stop)
	return a
}

func (a *api) do(t *testing.T, method, path, actor, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, a.srv.URL+path, strings.NewReader(body))
	if actor != "" {
		req.Header.Set(ActorHeader, actor)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	if out == nil {
		out = map[string]any{"raw": string(raw)}
	}
	return resp.StatusCode, out
}

type call struct{ method, path, actor, body string }

func TestControlAPI(t *testing.T) {
	inject := call{"POST", "/v1/faults", "", `{"kind":"bad_model_version"}`}
	tests := []struct {
		name        string
		before      []call
		call        call
		publishErr  error
		wantCode    int
		wantFields  map[string]any
		wantChanges []string // kind/version/previous/actor of each change event
	}{
		{name: "state", call: call{"GET", "/v1/state", "", ""}, wantCode: 200},
		{name: "stats over a window", call: call{"GET", "/v1/stats?window=2s", "", ""}, wantCode: 200,
			wantFields: map[string]any{"window_seconds": 2.0, "requests": 2.0, "error_rate": 0.5, "p95_latency_ms": 30.0, "active_version": "v1"}},
		{name: "stats of the last 0.7s", call: call{"GET", "/v1/stats?window=0.7", "", ""}, wantCode: 200,
			wantFields: map[string]any{"requests": 1.0, "error_rate": 0.0}},
		{name: "stats window too long", call: call{"GET", "/v1/stats?window=2h", "", ""}, wantCode: 400},
		{name: "stats window garbage", call: call{"GET", "/v1/stats?window=soon", "", ""}, wantCode: 400},
		{name: "inject bad version deploys v2", call: call{"POST", "/v1/faults", "chaos-monkey", `{"kind":"bad_model_version"}`}, wantCode: 200,
			wantFields:  map[string]any{"kind": "bad_model_version", "injected_unix_nano": 1.7e18},
			wantChanges: []string{"deploy/v2/v1/chaos-monkey"}},
		{name: "inject with the default actor", call: inject, wantCode: 200, wantChanges: []string{"deploy/v2/v1/fault-injection"}},
		{name: "inject twice deploys once", before: []call{inject}, call: inject, wantCode: 200, wantChanges: []string{"deploy/v2/v1/fault-injection"}},
		{name: "inject slow dependency records no change", call: call{"POST", "/v1/faults", "", `{"kind":"slow_dependency"}`}, wantCode: 200},
		{name: "inject unknown kind", call: call{"POST", "/v1/faults", "", `{"kind":"meteor"}`}, wantCode: 400},
		{name: "inject bad json", call: call{"POST", "/v1/faults", "", `{"kind":`}, wantCode: 400},
		{name: "clear", before: []call{{"POST", "/v1/faults", "", `{"kind":"feature_nulls"}`}}, call: call{"DELETE", "/v1/faults/feature_nulls", "", ""},
			wantCode: 200, wantFields: map[string]any{"cleared": true, "kind": "feature_nulls"}},
		{name: "clear bad version rolls it back", before: []call{inject}, call: call{"DELETE", "/v1/faults/bad_model_version", "alice", ""}, wantCode: 200,
			wantFields: map[string]any{"cleared": true}, wantChanges: []string{"deploy/v2/v1/fault-injection", "rollback/v1/v2/alice"}},
		{name: "clear bad version after the rollback changes nothing", before: []call{inject, {"POST", "/v1/models/fraud/rollback", "", ""}},
			call: call{"DELETE", "/v1/faults/bad_model_version", "", ""}, wantCode: 200,
			wantFields: map[string]any{"cleared": true}, wantChanges: []string{"deploy/v2/v1/fault-injection", "rollback/v1/v2/api"}},
		{name: "inject bad version during failover", before: []call{{"POST", "/v1/models/fraud/failover", "", `{"enabled":true}`}}, call: inject,
			wantCode: 409, wantChanges: []string{"failover/backup/v1/api"}},
		{name: "inject with a duration", call: call{"POST", "/v1/faults", "", `{"kind":"feature_nulls","duration":"1h"}`}, wantCode: 200,
			wantFields: map[string]any{"injected_unix_nano": 1.7e18, "ends_unix_nano": 1.7e18 + 3600e9}},
		{name: "inject with a bad duration", call: call{"POST", "/v1/faults", "", `{"kind":"feature_nulls","duration":"soon"}`}, wantCode: 400},
		{name: "inject with a zero duration", call: call{"POST", "/v1/faults", "", `{"kind":"feature_nulls","duration":"0s"}`}, wantCode: 400},
		{name: "inject with a negative duration", call: call{"POST", "/v1/faults", "", `{"kind":"slow_dependency","duration":"-1s"}`}, wantCode: 400},
		{name: "clear unknown", call: call{"DELETE", "/v1/faults/meteor", "", ""}, wantCode: 400},
		{name: "rollback", before: []call{inject}, call: call{"POST", "/v1/models/fraud/rollback", "remediator", ""}, wantCode: 200,
			wantFields:  map[string]any{"active_version": "v1", "previous_version": ""},
			wantChanges: []string{"deploy/v2/v1/fault-injection", "rollback/v1/v2/remediator"}},
		{name: "rollback with the actor in the body", before: []call{inject}, call: call{"POST", "/v1/models/fraud/rollback", "", `{"actor":"alice"}`}, wantCode: 200,
			wantChanges: []string{"deploy/v2/v1/fault-injection", "rollback/v1/v2/alice"}},
		{name: "rollback with nothing to roll back to", call: call{"POST", "/v1/models/fraud/rollback", "", ""}, wantCode: 409},
		{name: "rollback unknown model", call: call{"POST", "/v1/models/spam/rollback", "", ""}, wantCode: 404},
		{name: "set active", call: call{"PUT", "/v1/models/fraud/active", "", `{"version":"v2"}`}, wantCode: 200,
			wantFields: map[string]any{"active_version": "v2", "previous_version": "v1"}, wantChanges: []string{"deploy/v2/v1/api"}},
		{name: "set unknown version", call: call{"PUT", "/v1/models/fraud/active", "", `{"version":"v9"}`}, wantCode: 400},
		{name: "set active without a version", call: call{"PUT", "/v1/models/fraud/active", "", `{}`}, wantCode: 400},
		{name: "set active of unknown model", call: call{"PUT", "/v1/models/spam/active", "", `{"version":"v1"}`}, wantCode: 404},
		{name: "failover", call: call{"POST", "/v1/models/fraud/failover", "", `{"enabled":true}`}, wantCode: 200,
			wantFields: map[string]any{"failover": true, "active_version": "v1"}, wantChanges: []string{"failover/backup/v1/api"}},
		{name: "failover needs enabled", call: call{"POST", "/v1/models/fraud/failover", "", `{}`}, wantCode: 400},
		{name: "failover of unknown model", call: call{"POST", "/v1/models/spam/failover", "", `{"enabled":true}`}, wantCode: 404},
		{name: "publish failure still switches, with a warning", call: call{"PUT", "/v1/models/fraud/active", "", `{"version":"v2"}`},
			publishErr: errors.New("post change: 503 Service Unavailable"), wantCode: 200, wantFields: map[string]any{"active_version": "v2"}},
		{name: "wrong method", call: call{"GET", "/v1/faults", "", ""}, wantCode: 405},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newAPI(t)
			for _, c := range tc.before {
				if code, out := a.do(t, c.method, c.path, c.actor, c.body); code != 200 {
					t.Fatalf("before: %v -> %d %v", c, code, out)
				}
			}
			a.mu.Lock()
			a.fail = tc.publishErr
			a.mu.Unlock()
			code, out := a.do(t, tc.call.method, tc.call.path, tc.call.actor, tc.call.body)
			if code != tc.wantCode {
				t.Fatalf("%d %v, want %d", code, out, tc.wantCode)
			}
			if code >= 400 && code != 405 && out["error"] == nil {
				t.Errorf("error answer without an error message: %v", out)
			}
			for k, v := range tc.wantFields {
				if out[k] != v {
					t.Errorf("%s = %v, want %v (answer %v)", k, out[k], v, out)
				}
			}
			if (tc.publishErr != nil) != (out["warning"] != nil) {
				t.Errorf("warning %v with publish error %v", out["warning"], tc.publishErr)
			}
			var got []string
			for _, c := range a.recorded() {
				got = append(got, c.Kind+"/"+c.ModelVersion+"/"+c.PreviousVersion+"/"+c.Actor)
				if c.Service != "model-server" || c.Model != "fraud" || c.ChangeID == "" || c.TimeUnixNano != 1.7e18 {
					t.Errorf("change %+v", c)
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.wantChanges, ",") {
				t.Errorf("changes %v, want %v", got, tc.wantChanges)
			}
		})
	}
}

func TestStateShape(t *testing.T) {
	a := newAPI(t)
	a.do(t, "POST", "/v1/faults", "", `{"kind":"feature_nulls"}`)
	_, out := a.do(t, "GET", "/v1/state", "", "")
	raw, _ := json.Marshal(out)
	want := `{"active_faults":[{"injected_unix_nano":1700000000000000000,"kind":"feature_nulls"}],"faults":["feature_nulls"],"models":{"fraud":{"active_version":"v1","backup_version":"backup","failover":false,"previous_version":"","versions":["v1","v2"]}},` +
		`"stats":{"active_version":"v1","error_rate":0.5,"p95_latency_ms":30,"requests":2,"serving_version":"v1","window_seconds":10}}`
	if string(raw) != want {
		t.Fatalf("state\n%s\nwant\n%s", raw, want)
	}
}
