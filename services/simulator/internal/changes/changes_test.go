package changes

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// receiver is a fake /v1/changes: it answers each POST with the next of
// its answers (a status, or 0 to drop the connection) and keeps what came.
type receiver struct {
	srv     *httptest.Server
	answers []int

	mu    sync.Mutex
	calls []received
}

type received struct {
	auth, contentType string
	body              []byte
}

func newReceiver(t *testing.T, answers ...int) *receiver {
	t.Helper()
	r := &receiver{answers: answers}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		n := len(r.calls)
		r.calls = append(r.calls, received{auth: req.Header.Get("Authorization"), contentType: req.Header.Get("Content-Type"), body: body})
		r.mu.Unlock()
		code := http.StatusAccepted
		if n < len(r.answers) {
			code = r.answers[n]
		}
		if code == 0 {
			// A network failure as the client sees it: the connection
			// closes with no answer.
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			_ = conn.Close()
			return
		}
		w.WriteHeader(code)
		_, _ = w.Write([]byte(http.StatusText(code)))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) received() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.calls...)
}

func (r *receiver) client() *Client {
	return &Client{URL: r.srv.URL + "/v1/changes", Token: "s3cret", HTTP: r.srv.Client(), Attempts: 3, Backoff: time.Millisecond}
}

var rollback = Change{ChangeID: "c-1", Kind: "rollback", Description: "roll back fraud", Actor: "remediator",
	PreviousVersion: "v2", TimeUnixNano: 1_700_000_000_000_000_000, Service: "model-server", Model: "fraud", ModelVersion: "v1"}

// The record is the JSON Medic's /v1/changes takes, sent with the bearer
// token.
func TestPostSendsTheChange(t *testing.T) {
	r := newReceiver(t)
	if err := r.client().Post(context.Background(), rollback); err != nil {
		t.Fatal(err)
	}
	calls := r.received()
	if len(calls) != 1 {
		t.Fatalf("%d posts, want 1", len(calls))
	}
	if calls[0].auth != "Bearer s3cret" || calls[0].contentType != "application/json" {
		t.Errorf("Authorization %q, Content-Type %q", calls[0].auth, calls[0].contentType)
	}
	var got map[string]any
	if err := json.Unmarshal(calls[0].body, &got); err != nil {
		t.Fatalf("body %s: %v", calls[0].body, err)
	}
	want := map[string]any{"change_id": "c-1", "kind": "rollback", "description": "roll back fraud", "actor": "remediator",
		"previous_version": "v2", "time_unix_nano": 1.7e18, "service": "model-server", "model": "fraud", "model_version": "v1"}
	if len(got) != len(want) {
		t.Errorf("body %s, want the fields %v", calls[0].body, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

// A change without a token sends no Authorization, and leaves out the
// optional fields it does not have.
func TestPostWithoutTokenOrOptionalFields(t *testing.T) {
	r := newReceiver(t)
	cl := r.client()
	cl.Token = ""
	if err := cl.Post(context.Background(), Change{ChangeID: "c-2", Kind: "config", TimeUnixNano: 1, Service: "gateway"}); err != nil {
		t.Fatal(err)
	}
	calls := r.received()
	if len(calls) != 1 || calls[0].auth != "" {
		t.Fatalf("posts %+v, want one without Authorization", calls)
	}
	if want := `{"change_id":"c-2","kind":"config","time_unix_nano":1,"service":"gateway"}`; string(calls[0].body) != want {
		t.Errorf("body %s, want %s", calls[0].body, want)
	}
}

// Failures a retry can help with are retried with the same change id, so
// the receiver can keep one copy; the others are not.
func TestPostRetries(t *testing.T) {
	tests := []struct {
		name      string
		answers   []int // 0 drops the connection
		wantPosts int
		wantErr   string
	}{
		{name: "503 then accepted", answers: []int{503, 202}, wantPosts: 2},
		{name: "network error then accepted", answers: []int{0, 200}, wantPosts: 2},
		{name: "429 then accepted", answers: []int{429, 202}, wantPosts: 2},
		{name: "400 is not retried", answers: []int{400}, wantPosts: 1, wantErr: "400 Bad Request"},
		{name: "401 is not retried", answers: []int{401}, wantPosts: 1, wantErr: "401 Unauthorized"},
		{name: "attempts run out", answers: []int{503, 502, 500, 202}, wantPosts: 3, wantErr: "500 Internal Server Error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newReceiver(t, tc.answers...)
			err := r.client().Post(context.Background(), rollback)
			if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			calls := r.received()
			if len(calls) != tc.wantPosts {
				t.Fatalf("%d posts, want %d", len(calls), tc.wantPosts)
			}
			for _, c := range calls {
				var got Change
				if err := json.Unmarshal(c.body, &got); err != nil || got != rollback {
					t.Errorf("post %s (%v), want the same change every time", c.body, err)
				}
			}
		})
	}
}

// A context that ends during the pause between tries ends the retries.
func TestPostStopsWithItsContext(t *testing.T) {
	r := newReceiver(t, 503, 503, 503)
	cl := r.client()
	cl.Backoff = time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := cl.Post(ctx, rollback)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "503") {
		t.Fatalf("error %v, want the deadline and the last answer", err)
	}
	if n := len(r.received()); n != 1 {
		t.Fatalf("%d posts, want 1", n)
	}
}

// failingTransport fails the test on any request.
type failingTransport struct{ t *testing.T }

func (f failingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	f.t.Errorf("request to %s, want none", req.URL)
	return nil, errors.New("no request expected")
}

// Without a URL the simulator runs unobserved: Post sends nothing and
// succeeds.
func TestPostWithoutURLPostsNothing(t *testing.T) {
	cl := &Client{HTTP: &http.Client{Transport: failingTransport{t}}, Attempts: 3}
	if err := cl.Post(context.Background(), rollback); err != nil {
		t.Fatal(err)
	}
	if got := cl.String(); !strings.Contains(got, "nowhere") {
		t.Errorf("String() = %q", got)
	}
}
