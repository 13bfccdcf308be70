package webhook_test

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/medic-sre/medic/services/notifier/internal/notify"
	"github.com/medic-sre/medic/services/notifier/internal/notify/webhook"
)

// sink answers with codes in order (the last repeats), with retryAfter as
// Retry-After on failures, and keeps requests and when they came.
type sink struct {
	mu         sync.Mutex
	codes      []int
	retryAfter string
	reqs       []*http.Request
	body       [][]byte
	times      []time.Time
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.reqs = append(s.reqs, r)
	s.body = append(s.body, b)
	s.times = append(s.times, time.Now())
	code := s.codes[min(len(s.reqs), len(s.codes))-1]
	s.mu.Unlock()
	if code >= 300 && s.retryAfter != "" {
		w.Header().Set("Retry-After", s.retryAfter)
	}
	w.WriteHeader(code)
}

func TestSend(t *testing.T) {
	tests := []struct {
		name         string
		codes        []int
		secret       string
		wantAttempts int
		wantCalls    int
		wantRejected bool
		wantFail     bool
	}{
		{name: "delivered", codes: []int{204}, wantAttempts: 1, wantCalls: 1},
		{name: "signed", codes: []int{200}, secret: "whsec_" + base64.StdEncoding.EncodeToString([]byte("medic-test-key")), wantAttempts: 1, wantCalls: 1},
		{name: "signed with a raw secret", codes: []int{200}, secret: "s3cret", wantAttempts: 1, wantCalls: 1},
		{name: "signed retries", codes: []int{503, 200}, secret: "s3cret", wantAttempts: 2, wantCalls: 2},
		{name: "5xx retried", codes: []int{500, 503, 200}, wantAttempts: 3, wantCalls: 3},
		{name: "4xx refused at once", codes: []int{400}, wantCalls: 1, wantFail: true, wantRejected: true},
		{name: "5xx until attempts run out", codes: []int{502}, wantCalls: 3, wantFail: true},
		{name: "408 retried", codes: []int{408, 200}, wantAttempts: 2, wantCalls: 2},
		{name: "425 retried", codes: []int{425, 200}, wantAttempts: 2, wantCalls: 2},
		{name: "429 retried", codes: []int{429, 200}, wantAttempts: 2, wantCalls: 2},
		{name: "429 until attempts run out is transient", codes: []int{429}, wantCalls: 3, wantFail: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &sink{codes: tc.codes}
			srv := httptest.NewServer(s)
			defer srv.Close()
			r, err := webhook.New(webhook.Config{URL: srv.URL, Secret: tc.secret, Attempts: 3, Backoff: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			body := []byte(`{"about":"incident.opened"}`)
			d, err := r.Send(context.Background(), notify.Message{ID: "n-1", Body: body})
			if (err != nil) != tc.wantFail || errors.Is(err, notify.ErrRejected) != tc.wantRejected {
				t.Fatalf("err %v, want failure=%v rejected=%v", err, tc.wantFail, tc.wantRejected)
			}
			if len(s.reqs) != tc.wantCalls || d.Attempts != tc.wantAttempts {
				t.Fatalf("%d calls, %d attempts; want %d, %d", len(s.reqs), d.Attempts, tc.wantCalls, tc.wantAttempts)
			}
			req := s.reqs[0]
			if req.Header.Get("Idempotency-Key") != "n-1" || req.Header.Get("User-Agent") != "medic-notifier" ||
				req.Header.Get("Content-Type") != "application/json" || string(s.body[0]) != string(body) {
				t.Fatalf("request headers %v body %s", req.Header, s.body[0])
			}
			for i, req := range s.reqs {
				if tc.secret == "" {
					if req.Header.Get("webhook-signature") != "" {
						t.Fatalf("unsigned delivery carries a signature: %v", req.Header)
					}
					continue
				}
				// Every attempt is signed, with the same id.
				v := newRefVerifier(tc.secret, time.Now())
				if err := v.verify(req.Header, s.body[i]); err != nil || req.Header.Get("webhook-id") != "n-1" {
					t.Fatalf("attempt %d: %v (headers %v)", i+1, err, req.Header)
				}
			}
		})
	}
}

// A 429 or 503 with Retry-After is retried no sooner than it asks, and no
// later than the cap.
func TestSendHonoursRetryAfter(t *testing.T) {
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
			s := &sink{codes: tc.codes, retryAfter: tc.retryAfter}
			srv := httptest.NewServer(s)
			defer srv.Close()
			r, err := webhook.New(webhook.Config{URL: srv.URL, Attempts: 3, Backoff: time.Millisecond, MaxRetryAfter: limit})
			if err != nil {
				t.Fatal(err)
			}
			d, err := r.Send(context.Background(), notify.Message{ID: "n-1", Body: []byte(`{}`)})
			if err != nil || d.Attempts != 2 {
				t.Fatalf("delivery %+v err %v, want success on attempt 2", d, err)
			}
			gap := s.times[1].Sub(s.times[0])
			if gap < tc.wantGap || gap > limit+time.Second {
				t.Fatalf("retried after %s, want at least %s and about the cap %s at most", gap, tc.wantGap, limit)
			}
		})
	}
}

func TestNewRejectsBadURLs(t *testing.T) {
	for _, u := range []string{"", "ftp://x", "not a url", "http://"} {
		t.Run(u, func(t *testing.T) {
			if _, err := webhook.New(webhook.Config{URL: u}); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}
