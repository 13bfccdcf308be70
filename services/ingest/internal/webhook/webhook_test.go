package webhook

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestPrecheck(t *testing.T) {
	header, _ := NewGuard("s3cret", false)
	query, _ := NewGuard("s3cret", true)
	cases := []struct {
		name          string
		guard         Guard
		method, url   string
		auth, ctype   string
		status        int
		result, hName string
	}{
		{name: "ok", guard: header, method: "POST", url: "/x", auth: "Bearer s3cret", ctype: "application/json; charset=utf-8"},
		{name: "no content type is json", guard: header, method: "POST", url: "/x", auth: "Bearer s3cret"},
		{name: "GET", guard: header, method: "GET", url: "/x", auth: "Bearer s3cret", status: 405, result: ResultMethod, hName: "Allow"},
		{name: "no token", guard: header, method: "POST", url: "/x", status: 401, result: ResultUnauthorized, hName: "WWW-Authenticate"},
		{name: "wrong token", guard: header, method: "POST", url: "/x", auth: "Bearer s3cre", status: 401, result: ResultUnauthorized},
		{name: "query token refused when not allowed", guard: header, method: "POST", url: "/x?token=s3cret", status: 401, result: ResultUnauthorized},
		{name: "query token taken when allowed", guard: query, method: "POST", url: "/x?token=s3cret"},
		{name: "a wrong header is not rescued by the query", guard: query, method: "POST", url: "/x?token=s3cret", auth: "Bearer nope", status: 401, result: ResultUnauthorized},
		{name: "form body", guard: header, method: "POST", url: "/x", auth: "Bearer s3cret", ctype: "application/x-www-form-urlencoded", status: 415, result: ResultContentType},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest(c.method, c.url, strings.NewReader("{}"))
			if c.auth != "" {
				req.Header.Set("Authorization", c.auth)
			}
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			w := httptest.NewRecorder()
			rf := c.guard.Precheck(w, req)
			if c.status == 0 {
				if rf != nil {
					t.Fatalf("refused: %+v", rf)
				}
				return
			}
			if rf == nil || rf.Status != c.status || rf.Result != c.result {
				t.Fatalf("got %+v, want status %d result %s", rf, c.status, c.result)
			}
			if c.hName != "" && w.Header().Get(c.hName) == "" {
				t.Errorf("header %s not set", c.hName)
			}
		})
	}
}

func TestNewGuardRefusesAnEmptyToken(t *testing.T) {
	if _, err := NewGuard("", true); !errors.Is(err, ErrNoToken) {
		t.Fatalf("got %v", err)
	}
}

func TestRetryAfterRoundsUp(t *testing.T) {
	for d, want := range map[time.Duration]string{30 * time.Second: "30", 1500 * time.Millisecond: "2", time.Millisecond: "1"} {
		if got := RetryAfter(d); got != want {
			t.Errorf("RetryAfter(%v) = %s, want %s", d, got, want)
		}
	}
}
