package action_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/medic-sre/medic/services/remediator/internal/action"
)

// call is one request the fake serving system received.
type call struct {
	Method, Path, Body, Actor, Key string
}

// fakeServer answers with codes in order (the last one repeats) and records
// every call.
type fakeServer struct {
	mu    sync.Mutex
	codes []int
	calls []call
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.calls = append(f.calls, call{r.Method, r.URL.Path, string(body), r.Header.Get("X-Medic-Actor"), r.Header.Get("Idempotency-Key")})
	code := f.codes[min(len(f.calls), len(f.codes))-1]
	f.mu.Unlock()
	w.WriteHeader(code)
	_, _ = w.Write([]byte(`{"ok":true}`))
}

func newClient() *action.Client {
	c := action.NewClient(2 * time.Second)
	c.Backoff = time.Millisecond
	return c
}

func TestServingActions(t *testing.T) {
	tests := []struct {
		name   string
		action string
		with   map[string]string
		want   call
	}{
		{name: "rollback", action: "model.rollback", with: map[string]string{"model": "fraud"},
			want: call{Method: "POST", Path: "/v1/models/fraud/rollback", Body: "{}"}},
		{name: "failover", action: "model.failover", with: map[string]string{"model": "fraud"},
			want: call{Method: "POST", Path: "/v1/models/fraud/failover", Body: `{"enabled":true}`}},
		{name: "failover off", action: "model.failover", with: map[string]string{"model": "fraud", "enabled": "false"},
			want: call{Method: "POST", Path: "/v1/models/fraud/failover", Body: `{"enabled":false}`}},
		{name: "set version", action: "model.set_version", with: map[string]string{"model": "fraud", "version": "v1"},
			want: call{Method: "PUT", Path: "/v1/models/fraud/active", Body: `{"version":"v1"}`}},
		{name: "http", action: "http", with: map[string]string{"url": "SERVER/hooks/x", "method": "put", "body": "hi"},
			want: call{Method: "PUT", Path: "/hooks/x", Body: "hi"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := &fakeServer{codes: []int{200}}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			if u := tc.with["url"]; u != "" {
				tc.with["url"] = srv.URL + u[len("SERVER"):]
			}
			reg := action.Default(srv.URL, newClient())
			if err := reg.Check(tc.action, tc.with); err != nil {
				t.Fatalf("check: %v", err)
			}
			a, _ := reg.Get(tc.action)
			if _, err := a.Run(context.Background(), action.Request{ExecutionID: "exec-1", With: tc.with}); err != nil {
				t.Fatal(err)
			}
			tc.want.Actor, tc.want.Key = action.Actor, "exec-1"
			if len(fake.calls) != 1 || fake.calls[0] != tc.want {
				t.Fatalf("calls %+v, want one %+v", fake.calls, tc.want)
			}
		})
	}
}

func TestClientRetries(t *testing.T) {
	tests := []struct {
		name      string
		codes     []int
		wantCalls int
		wantErr   error
		wantFail  bool
	}{
		{name: "succeeds first time", codes: []int{200}, wantCalls: 1},
		{name: "5xx then success", codes: []int{503, 500, 200}, wantCalls: 3},
		{name: "4xx is not retried", codes: []int{409}, wantCalls: 1, wantErr: action.ErrRejected, wantFail: true},
		{name: "5xx until attempts run out", codes: []int{502}, wantCalls: 3, wantFail: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := &fakeServer{codes: tc.codes}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			_, _, err := newClient().Do(context.Background(), "POST", srv.URL+"/x", nil, "k")
			if (err != nil) != tc.wantFail || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
				t.Fatalf("err %v, want failure=%v (%v)", err, tc.wantFail, tc.wantErr)
			}
			if tc.wantErr == nil && errors.Is(err, action.ErrRejected) {
				t.Fatalf("a transient failure must not read as rejected: %v", err)
			}
			if len(fake.calls) != tc.wantCalls {
				t.Fatalf("%d calls, want %d", len(fake.calls), tc.wantCalls)
			}
		})
	}
}

func TestCheckRejectsBadSteps(t *testing.T) {
	reg := action.Default("http://x", newClient())
	tests := []struct {
		name   string
		action string
		with   map[string]string
	}{
		{name: "unknown action", action: "k8s.scale"},
		{name: "missing model", action: "model.rollback"},
		{name: "unknown parameter", action: "model.rollback", with: map[string]string{"model": "m", "modle": "m"}},
		{name: "http without url", action: "http", with: map[string]string{"method": "POST"}},
		{name: "http bad method", action: "http", with: map[string]string{"url": "http://x", "method": "FETCH"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := reg.Check(tc.action, tc.with); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}
