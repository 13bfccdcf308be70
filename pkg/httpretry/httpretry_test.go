package httpretry_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/httpretry"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name, value string
		want        time.Duration
	}{
		{name: "absent", value: "", want: 0},
		{name: "seconds", value: "5", want: 5 * time.Second},
		{name: "seconds over the cap", value: "3600", want: 30 * time.Second},
		{name: "huge seconds", value: "99999999999999999", want: 30 * time.Second},
		{name: "http date", value: "Fri, 27 Nov 2026 12:00:07 GMT", want: 7 * time.Second},
		{name: "http date in the past", value: "Fri, 27 Nov 2026 11:00:00 GMT", want: 0},
		{name: "negative", value: "-3", want: 0},
		{name: "garbage", value: "later", want: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := httpretry.After(tc.value, now, 30*time.Second); got != tc.want {
				t.Fatalf("RetryAfter(%q) = %s, want %s", tc.value, got, tc.want)
			}
		})
	}
}

func TestRetryable(t *testing.T) {
	tests := []struct {
		name string
		code int
		want bool
	}{
		{name: "ok", code: http.StatusOK, want: false},
		{name: "bad request", code: http.StatusBadRequest, want: false},
		{name: "timeout", code: http.StatusRequestTimeout, want: true},
		{name: "too early", code: http.StatusTooEarly, want: true},
		{name: "too many", code: http.StatusTooManyRequests, want: true},
		{name: "server error", code: http.StatusBadGateway, want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := httpretry.Retryable(tc.code); got != tc.want {
				t.Fatalf("Retryable(%d) = %v", tc.code, got)
			}
		})
	}
}
