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

// fakeServer answers with codes in order (the last one repeats), with
// retryAfter as Retry-After on failures, and records every call and when
// it came.
type fakeServer struct {
	mu         sync.Mutex
	codes      []int
	retryAfter string
	calls      []call
	times      []time.Time
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.calls = append(f.calls, call{r.Method, r.URL.Path, string(body), r.Header.Get("X-Medic-Actor"), r.Header.Get("Idempotency-Key")})
	f.times = append(f.times, time.Now())
	code := f.codes[min(len(f.calls), len(f.codes))-1]
	f.mu.Unlock()
	if code >= 300 && f.retryAfter != "" {
		w.Header().Set("Retry-After", f.retryAfter)
	}
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
			if _, err := a.Run(context.Background(), action.Request{ExecutionID: "exec-1", Key: "exec-1/0", With: tc.with}); err != nil {
				t.Fatal(err)
			}
			tc.want.Actor, tc.want.Key = action.Actor, "exec-1/0"
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
		{name: "408 is retried", codes: []int{408, 200}, wantCalls: 2},
		{name: "425 is retried", codes: []int{425, 200}, wantCalls: 2},
		{name: "429 is retried", codes: []int{429, 200}, wantCalls: 2},
		{name: "429 until attempts run out is transient", codes: []int{429}, wantCalls: 3, wantFail: true},
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
		{name: "unknown parameter", action: "model.rollback", with: map[string]string{"model": "m", "modle": "m"}}, //nolint:misspell // deliberate typo: an unknown parameter name
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

// A 429 or 503 with Retry-After is retried no sooner than it asks, and no
// later than the cap.
func TestClientHonoursRetryAfter(t *testing.T) {
	const limit = 300 * time.Millisecond
	tests := []struct {
		name       string
		codes      []int
		retryAfter string
		wantGap    time.Duration
	}{
		{name: "429 seconds, capped", codes: []int{429, 200}, retryAfter: "120", wantGap: limit},
		{name: "503 seconds, capped", codes: []int{503, 200}, retryAfter: "1", wantGap: limit},
		{name: "429 date, capped", codes: []int{429, 200}, retryAfter: time.Now().Add(time.Hour).UTC().Format(http.TimeFormat), wantGap: limit},
		{name: "429 unreadable: backoff only", codes: []int{429, 200}, retryAfter: "soon"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := &fakeServer{codes: tc.codes, retryAfter: tc.retryAfter}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			c := newClient()
			c.MaxRetryAfter = limit
			if _, _, err := c.Do(context.Background(), "POST", srv.URL+"/x", nil, "k"); err != nil {
				t.Fatal(err)
			}
			if len(fake.times) != 2 {
				t.Fatalf("%d calls, want 2", len(fake.times))
			}
			gap := fake.times[1].Sub(fake.times[0])
			if gap < tc.wantGap || gap > limit+time.Second {
				t.Fatalf("retried after %s, want at least %s and about the cap %s at most", gap, tc.wantGap, limit)
			}
		})
	}
}

// lossyServing plays a serving system whose first rollback is applied but
// whose answer never arrives (dropped, or replaced by a 503 on the way);
// with replay it answers a repeated Idempotency-Key as the first time, as
// the simulator's control API does.
type lossyServing struct {
	mu       sync.Mutex
	replay   bool
	drop     bool // drop the connection; else answer 503
	previous string
	answers  map[string]string
	keys     []string
}

func (f *lossyServing) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := r.Header.Get("Idempotency-Key")
	f.keys = append(f.keys, key)
	if ans, ok := f.answers[key]; ok && f.replay {
		_, _ = w.Write([]byte(ans))
		return
	}
	if f.previous == "" {
		http.Error(w, `{"error":"no previous version to roll back to"}`, http.StatusConflict)
		return
	}
	f.previous = ""
	f.answers[key] = `{"active_version":"v1"}`
	if !f.drop {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

// A rollback applied on the first attempt whose answer was lost succeeds on
// the retry, because the retry carries the same key and the target
// replays; a target that ignores the key refuses the retry with 409.
func TestRetriedRollbackAfterALostAnswer(t *testing.T) {
	tests := []struct {
		name    string
		replay  bool
		drop    bool
		wantErr error
	}{
		{name: "answer dropped, target replays", replay: true, drop: true},
		{name: "503 after applying, target replays", replay: true},
		{name: "answer dropped, target ignores the key", drop: true, wantErr: action.ErrRejected},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := &lossyServing{replay: tc.replay, drop: tc.drop, previous: "v1", answers: map[string]string{}}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			a, _ := action.Default(srv.URL, newClient()).Get("model.rollback")
			_, err := a.Run(context.Background(), action.Request{ExecutionID: "exec-1", Key: "exec-1/0", With: map[string]string{"model": "fraud"}})
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if len(fake.keys) != 2 || fake.keys[0] != "exec-1/0" || fake.keys[1] != "exec-1/0" {
				t.Fatalf("keys %v, want the same key on both attempts", fake.keys)
			}
		})
	}
}
