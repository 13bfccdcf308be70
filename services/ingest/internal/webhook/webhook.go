// Package webhook holds what the ingest service's HTTP endpoints for
// pushed events (alert webhooks, changes) check before reading a body: the
// method, the bearer token and the content type, answered the same way on
// each endpoint.
package webhook

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Results of the checks, the result label the endpoints count requests by.
const (
	ResultUnauthorized = "unauthorized"
	ResultMethod       = "method_not_allowed"
	ResultContentType  = "content_type"
)

// ErrNoToken refuses to guard an endpoint with an empty token.
var ErrNoToken = errors.New("a token is required: the endpoint is not served unguarded")

// Guard checks the shared secret a sender presents.
type Guard struct {
	sum [sha256.Size]byte
	// QueryToken also takes ?token=<token>, for senders that cannot set a
	// header; it ends up in access logs and is the weaker choice.
	queryToken bool
}

// NewGuard guards with token; queryToken also accepts it as ?token=.
func NewGuard(token string, queryToken bool) (Guard, error) {
	if token == "" {
		return Guard{}, ErrNoToken
	}
	return Guard{sum: sha256.Sum256([]byte(token)), queryToken: queryToken}, nil
}

// Authorized compares the presented token with the configured one in
// constant time (over their hashes, so the length leaks nothing either).
func (g Guard) Authorized(req *http.Request) bool {
	got, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
	if !ok && g.queryToken {
		got = req.URL.Query().Get("token")
	}
	if got == "" {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
	return subtle.ConstantTimeCompare(sum[:], g.sum[:]) == 1
}

// Refusal is a request refused before its body is read.
type Refusal struct {
	Status int
	Result string
	Msg    string
}

// Precheck refuses a request that is not a POST, lacks the token or
// declares a content type other than JSON, setting the Allow or
// WWW-Authenticate header the status calls for. nil lets it through.
func (g Guard) Precheck(w http.ResponseWriter, req *http.Request) *Refusal {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return &Refusal{http.StatusMethodNotAllowed, ResultMethod, "only POST is accepted"}
	}
	if !g.Authorized(req) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="medic"`)
		return &Refusal{http.StatusUnauthorized, ResultUnauthorized, "missing or wrong token: send Authorization: Bearer <token>"}
	}
	if ct := req.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return &Refusal{http.StatusUnsupportedMediaType, ResultContentType, fmt.Sprintf("content type %q is not application/json", ct)}
		}
	}
	return nil
}

// RetryAfter is d as a Retry-After header value: whole seconds, rounded up.
func RetryAfter(d time.Duration) string {
	return strconv.Itoa(int((d + time.Second - 1) / time.Second))
}
