package webhook_test

import (
	"context"
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

// sink answers with codes in order (the last repeats) and keeps requests.
type sink struct {
	mu    sync.Mutex
	codes []int
	reqs  []*http.Request
	body  [][]byte
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.reqs = append(s.reqs, r)
	s.body = append(s.body, b)
	code := s.codes[min(len(s.reqs), len(s.codes))-1]
	s.mu.Unlock()
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
		{name: "signed", codes: []int{200}, secret: "s3cret", wantAttempts: 1, wantCalls: 1},
		{name: "5xx retried", codes: []int{500, 503, 200}, wantAttempts: 3, wantCalls: 3},
		{name: "4xx refused at once", codes: []int{400}, wantCalls: 1, wantFail: true, wantRejected: true},
		{name: "5xx until attempts run out", codes: []int{502}, wantCalls: 3, wantFail: true},
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
			sig := req.Header.Get(webhook.HeaderSignature)
			if (tc.secret == "") != (sig == "") || (sig != "" && sig != webhook.Sign(tc.secret, body)) {
				t.Fatalf("signature %q", sig)
			}
		})
	}
}

func TestSignIsHMACSHA256(t *testing.T) {
	// RFC 4231 test case 2.
	got := webhook.Sign("Jefe", []byte("what do ya want for nothing?"))
	if got != "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" {
		t.Fatalf("signature %s", got)
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
