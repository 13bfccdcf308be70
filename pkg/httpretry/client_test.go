package httpretry_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/httpretry"
	"github.com/medic-sre/medic/pkg/retry"
)

// server answers with codes in order (the last repeats), with retryAfter on
// failures, and keeps each request's Idempotency-Key and arrival time.
type server struct {
	mu         sync.Mutex
	codes      []int
	retryAfter string
	keys       []string
	times      []time.Time
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.keys = append(s.keys, r.Header.Get("Idempotency-Key"))
	s.times = append(s.times, time.Now())
	code := s.codes[min(len(s.keys), len(s.codes))-1]
	s.mu.Unlock()
	if code >= 300 && s.retryAfter != "" {
		w.Header().Set("Retry-After", s.retryAfter)
	}
	w.WriteHeader(code)
	_, _ = w.Write([]byte("answer"))
}

func post(url string) httpretry.Attempt {
	return func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader("{}"))
	}
}

func TestClientDo(t *testing.T) {
	const capRA = 200 * time.Millisecond
	tests := []struct {
		name         string
		codes        []int
		retryAfter   string
		wantCalls    int
		wantCode     int
		wantRejected bool
		wantFail     bool
		wantGap      time.Duration
	}{
		{name: "503 then 200", codes: []int{503, 200}, wantCalls: 2, wantCode: 200},
		{name: "400 once", codes: []int{400}, wantCalls: 1, wantCode: 400, wantRejected: true, wantFail: true},
		{name: "429 with Retry-After", codes: []int{429, 200}, retryAfter: "0", wantCalls: 2, wantCode: 200},
		{name: "Retry-After capped", codes: []int{503, 200}, retryAfter: "3600", wantCalls: 2, wantCode: 200, wantGap: capRA},
		{name: "Retry-After date capped", codes: []int{503, 200}, retryAfter: time.Now().Add(time.Hour).UTC().Format(http.TimeFormat), wantCalls: 2, wantCode: 200, wantGap: capRA},
		{name: "retryable until attempts run out", codes: []int{502}, wantCalls: 3, wantCode: 502, wantFail: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &server{codes: tc.codes, retryAfter: tc.retryAfter}
			srv := httptest.NewServer(s)
			defer srv.Close()
			c := &httpretry.Client{HTTP: srv.Client(), Policy: retry.Policy{Attempts: 3, Initial: time.Millisecond}, MaxRetryAfter: capRA}
			resp, err := c.Do(context.Background(), "key-1", 0, post(srv.URL))
			if (err != nil) != tc.wantFail || errors.Is(err, httpretry.ErrRejected) != tc.wantRejected {
				t.Fatalf("err %v, want failure=%v rejected=%v", err, tc.wantFail, tc.wantRejected)
			}
			if len(s.keys) != tc.wantCalls || resp.Attempts != tc.wantCalls || resp.StatusCode != tc.wantCode || string(resp.Body) != "answer" {
				t.Fatalf("%d calls, response %+v; want %d calls ending in %d", len(s.keys), resp, tc.wantCalls, tc.wantCode)
			}
			for i, k := range s.keys {
				if k != "key-1" {
					t.Fatalf("attempt %d Idempotency-Key %q, want key-1 on every attempt", i+1, k)
				}
			}
			if len(s.times) > 1 {
				gap := s.times[1].Sub(s.times[0])
				if gap < tc.wantGap || gap > capRA+time.Second {
					t.Fatalf("retried after %s, want at least %s and about the cap %s at most", gap, tc.wantGap, capRA)
				}
			}
			var se *httpretry.StatusError
			if tc.wantFail && (!errors.As(err, &se) || se.Code != tc.wantCode) {
				t.Fatalf("err %v, want a StatusError %d", err, tc.wantCode)
			}
		})
	}
}

// A connection error is retried like a 5xx.
func TestClientRetriesTransportErrors(t *testing.T) {
	s := &server{codes: []int{200}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c := &httpretry.Client{HTTP: srv.Client(), Policy: retry.Policy{Attempts: 3, Initial: time.Millisecond}}
	calls := 0
	resp, err := c.Do(context.Background(), "", 0, func(ctx context.Context) (*http.Request, error) {
		calls++
		url := srv.URL
		if calls == 1 {
			url = "http://127.0.0.1:1" // nothing listens there
		}
		return http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	})
	if err != nil || resp.Attempts != 2 || len(s.keys) != 1 || s.keys[0] != "" {
		t.Fatalf("response %+v err %v, keys %q; want success on attempt 2 without a key", resp, err, s.keys)
	}
}

func TestClientStopsWithContext(t *testing.T) {
	s := &server{codes: []int{503}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	c := &httpretry.Client{HTTP: srv.Client(), Policy: retry.Policy{Initial: 10 * time.Millisecond}}
	_, err := c.Do(ctx, "", 0, post(srv.URL))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "answered 503") {
		t.Fatalf("err %v, want the deadline with the last answer", err)
	}
}
