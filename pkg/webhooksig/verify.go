package webhooksig

import (
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Why a delivery fails verification.
var (
	// ErrSignature: headers are missing or no signature matches.
	ErrSignature = errors.New("webhook signature does not verify")
	// ErrStale: the timestamp is outside the tolerance.
	ErrStale = errors.New("webhook timestamp outside the tolerance")
	// ErrReplay: this id was already accepted. A receiver answers it as it
	// answered the first delivery, without acting again: a sender retries
	// with the same id after a timeout.
	ErrReplay = errors.New("webhook id already seen")
)

// Verifier checks deliveries signed with one key and remembers the ids it
// accepted for twice the tolerance; an older delivery is stale anyway.
type Verifier struct {
	key       Key
	tolerance time.Duration
	mu        sync.Mutex
	seen      map[string]time.Time
}

// NewVerifier verifies with key; tolerance 0 is DefaultTolerance.
func NewVerifier(key Key, tolerance time.Duration) *Verifier {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	return &Verifier{key: key, tolerance: tolerance, seen: map[string]time.Time{}}
}

// Verify checks the signature of body against the headers, then the
// timestamp against now, then that the id is new, and remembers the id.
func (v *Verifier) Verify(h http.Header, body []byte, now time.Time) error {
	id, ts := h.Get(HeaderID), h.Get(HeaderTimestamp)
	if id == "" || ts == "" || !v.signed(id, ts, h.Get(HeaderSignature), body) {
		return ErrSignature
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrSignature
	}
	if d := now.Sub(time.Unix(secs, 0)).Abs(); d > v.tolerance {
		return fmt.Errorf("%w: %s off", ErrStale, d.Round(time.Second))
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	for seenID, at := range v.seen {
		if now.Sub(at) > 2*v.tolerance {
			delete(v.seen, seenID)
		}
	}
	if _, ok := v.seen[id]; ok {
		return ErrReplay
	}
	v.seen[id] = now
	return nil
}

// signed reports whether one of the space-separated v1 signatures matches,
// compared in constant time.
func (v *Verifier) signed(id, ts, header string, body []byte) bool {
	want := v.key.mac(id, ts, body)
	for _, sig := range strings.Fields(header) {
		enc, ok := strings.CutPrefix(sig, "v1,")
		if !ok {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(enc)
		if err == nil && hmac.Equal(got, want) {
			return true
		}
	}
	return false
}
