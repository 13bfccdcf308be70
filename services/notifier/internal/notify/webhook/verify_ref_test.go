package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/services/notifier/internal/notify"
	"github.com/medic-sre/medic/services/notifier/internal/notify/webhook"
)

// refVerifier is a receiver written from the Standard Webhooks specification
// text alone, sharing no code with the signer: the signed content is
// "<webhook-id>.<webhook-timestamp>.<body>", the signature HMAC-SHA256 under
// the key (the base64 after "whsec_"), and webhook-signature a space-separated
// list of "v1,<base64>". It rejects timestamps more than five minutes off and
// ids it has seen.
type refVerifier struct {
	key  []byte
	now  time.Time
	seen map[string]bool
}

var (
	errBadSignature = errors.New("bad signature")
	errStale        = errors.New("stale timestamp")
	errReplayed     = errors.New("replayed id")
)

func newRefVerifier(secret string, now time.Time) *refVerifier {
	key := []byte(secret)
	if enc, ok := strings.CutPrefix(secret, "whsec_"); ok {
		key, _ = base64.StdEncoding.DecodeString(enc)
	}
	return &refVerifier{key: key, now: now, seen: map[string]bool{}}
}

func (v *refVerifier) verify(h http.Header, body []byte) error {
	id, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
	mac := hmac.New(sha256.New, v.key)
	mac.Write([]byte(id + "." + ts + "." + string(body)))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	ok := false
	for _, sig := range strings.Split(h.Get("webhook-signature"), " ") {
		version, value, _ := strings.Cut(sig, ",")
		ok = ok || (version == "v1" && hmac.Equal([]byte(value), []byte(want)))
	}
	if id == "" || !ok {
		return errBadSignature
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errBadSignature
	}
	if d := v.now.Sub(time.Unix(secs, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return errStale
	}
	if v.seen[id] {
		return errReplayed
	}
	v.seen[id] = true
	return nil
}

// A fresh delivery verifies; the same delivery sent again, a delivery checked
// after the tolerance, and a delivery with another body do not.
func TestSignatureVerifiesAsStandardWebhooks(t *testing.T) {
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("a key of the receiver"))
	s := &sink{codes: []int{200}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	r, err := webhook.New(webhook.Config{URL: srv.URL, Secret: secret, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"n-1", "n-2", "n-3"} {
		if _, err := r.Send(context.Background(), notify.Message{ID: id, Body: []byte(`{"about":"incident.opened","id":"` + id + `"}`)}); err != nil {
			t.Fatal(err)
		}
	}
	v := newRefVerifier(secret, time.Now())
	tests := []struct {
		name string
		v    *refVerifier
		req  int
		body []byte
		want error
	}{
		{name: "fresh", v: v, req: 0},
		{name: "replayed", v: v, req: 0, want: errReplayed},
		{name: "stale", v: newRefVerifier(secret, time.Now().Add(6*time.Minute)), req: 1, want: errStale},
		{name: "tampered body", v: v, req: 2, body: []byte(`{"about":"incident.resolved","id":"n-3"}`), want: errBadSignature},
		{name: "another fresh", v: v, req: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := s.body[tc.req]
			if tc.body != nil {
				body = tc.body
			}
			if err := tc.v.verify(s.reqs[tc.req].Header, body); !errors.Is(err, tc.want) {
				t.Fatalf("verify: %v, want %v", err, tc.want)
			}
		})
	}
}

func TestNewRejectsBadSecret(t *testing.T) {
	if _, err := webhook.New(webhook.Config{URL: "http://example.test", Secret: "whsec_???"}); err == nil {
		t.Fatal("accepted a whsec_ secret that is not base64")
	}
}
