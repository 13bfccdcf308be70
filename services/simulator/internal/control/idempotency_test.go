package control

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// send makes one request with an optional Idempotency-Key and returns the
// status, body and whether the answer was replayed.
func send(t *testing.T, url, method, path, key, body string) (int, string, bool) {
	t.Helper()
	req, _ := http.NewRequest(method, url+path, strings.NewReader(body))
	if key != "" {
		req.Header.Set(IdempotencyHeader, key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw), resp.Header.Get(ReplayedHeader) == "true"
}

// A rollback retried under its Idempotency-Key (the first answer lost on
// the way) gets the first answer again, and the model switches once.
func TestIdempotentControlAPI(t *testing.T) {
	rollback := func(key string) call { return call{"POST", "/v1/models/fraud/rollback", key, ""} }
	tests := []struct {
		name        string
		calls       []call // actor holds the Idempotency-Key here
		wantCodes   []int
		wantSame    bool // every answer has the first one's body
		wantChanges []string
	}{
		{name: "same key twice rolls back once", calls: []call{rollback("k1"), rollback("k1")}, wantCodes: []int{200, 200}, wantSame: true,
			wantChanges: []string{"deploy/v2", "rollback/v1"}},
		{name: "another key is another rollback", calls: []call{rollback("k1"), rollback("k2")}, wantCodes: []int{200, 409},
			wantChanges: []string{"deploy/v2", "rollback/v1"}},
		{name: "no key is no replay", calls: []call{rollback(""), rollback("")}, wantCodes: []int{200, 409},
			wantChanges: []string{"deploy/v2", "rollback/v1"}},
		{name: "a refusal is replayed too", calls: []call{rollback("k1"), rollback("k2"), rollback("k2")}, wantCodes: []int{200, 409, 409},
			wantChanges: []string{"deploy/v2", "rollback/v1"}},
		{name: "the key is scoped to the path", calls: []call{rollback("k1"), {"POST", "/v1/models/fraud/failover", "k1", `{"enabled":true}`}},
			wantCodes: []int{200, 200}, wantChanges: []string{"deploy/v2", "rollback/v1", "failover/backup"}},
		{name: "the key with another body is refused", calls: []call{{"PUT", "/v1/models/fraud/active", "k1", `{"version":"v1"}`},
			{"PUT", "/v1/models/fraud/active", "k1", `{"version":"v2"}`}}, wantCodes: []int{200, 422},
			wantChanges: []string{"deploy/v2", "deploy/v1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newAPI(t)
			if code, out := a.do(t, "POST", "/v1/faults", "", `{"kind":"bad_model_version"}`); code != 200 {
				t.Fatalf("inject: %d %v", code, out)
			}
			var first string
			for i, c := range tc.calls {
				code, body, replayed := send(t, a.srv.URL, c.method, c.path, c.actor, c.body)
				if code != tc.wantCodes[i] {
					t.Fatalf("call %d %v: %d %s, want %d", i, c, code, body, tc.wantCodes[i])
				}
				if i == 0 {
					first = body
				} else if tc.wantSame && (body != first || !replayed) {
					t.Fatalf("call %d answered %s (replayed %v), want the first answer %s replayed", i, body, replayed, first)
				}
			}
			var got []string
			for _, c := range a.recorded() {
				got = append(got, c.Kind+"/"+c.ModelVersion)
			}
			if strings.Join(got, ",") != strings.Join(tc.wantChanges, ",") {
				t.Fatalf("changes %v, want %v", got, tc.wantChanges)
			}
		})
	}
}

// counted answers the codes in order (the last repeats) and counts calls.
type counted struct {
	calls atomic.Int32
	codes []int
}

func (c *counted) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	n := int(c.calls.Add(1))
	writeJSON(w, c.codes[min(n, len(c.codes))-1], map[string]int{"call": n})
}

func TestIdempotentKeys(t *testing.T) {
	tests := []struct {
		name      string
		codes     []int
		keys      []string
		wantCalls int32
	}{
		{name: "a repeat is replayed", codes: []int{200}, keys: []string{"a", "a", "a"}, wantCalls: 1},
		{name: "a 5xx is not kept, so a retry runs", codes: []int{503, 200}, keys: []string{"a", "a", "a"}, wantCalls: 2},
		{name: "the oldest key is forgotten", codes: []int{200}, keys: []string{"a", "b", "c", "a", "c"}, wantCalls: 4},
		{name: "a repeat keeps its key fresh", codes: []int{200}, keys: []string{"a", "b", "a", "c", "a"}, wantCalls: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			next := &counted{codes: tc.codes}
			srv := httptest.NewServer(Idempotent(next, 2))
			defer srv.Close()
			for _, k := range tc.keys {
				send(t, srv.URL, "POST", "/x", k, "")
			}
			if n := next.calls.Load(); n != tc.wantCalls {
				t.Fatalf("handler ran %d times, want %d", n, tc.wantCalls)
			}
		})
	}
}

// Requests that race under one key run the action once.
func TestIdempotentConcurrentRepeats(t *testing.T) {
	next := &counted{codes: []int{200}}
	srv := httptest.NewServer(Idempotent(next, 10))
	defer srv.Close()
	var wg sync.WaitGroup
	bodies := make([]string, 20)
	for i := range bodies {
		wg.Go(func() {
			req, _ := http.NewRequest("POST", srv.URL+"/x", nil)
			req.Header.Set(IdempotencyHeader, "k")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			bodies[i] = string(raw)
		})
	}
	wg.Wait()
	if n := next.calls.Load(); n != 1 {
		t.Fatalf("handler ran %d times, want 1", n)
	}
	for _, b := range bodies {
		if b != bodies[0] {
			t.Fatalf("answers differ: %q and %q", b, bodies[0])
		}
	}
}
