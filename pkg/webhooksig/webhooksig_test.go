package webhooksig_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/webhooksig"
)

// The example of the Standard Webhooks specification and its libraries.
func TestSignMatchesSpecificationExample(t *testing.T) {
	key, err := webhooksig.ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	got := key.Sign("msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("signature %s, want %s", got, want)
	}
}

func TestParseSecret(t *testing.T) {
	tests := []struct {
		name, secret string
		want         string
		wantErr      bool
	}{
		{name: "prefixed base64", secret: "whsec_a2V5", want: "key"},
		{name: "raw, as before the prefix", secret: "s3cret", want: "s3cret"},
		{name: "empty", secret: "", wantErr: true},
		{name: "prefixed garbage", secret: "whsec_not base64!", wantErr: true},
		{name: "prefix alone", secret: "whsec_", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key, err := webhooksig.ParseSecret(tc.secret)
			if (err != nil) != tc.wantErr || string(key) != tc.want {
				t.Fatalf("key %q err %v, want %q error=%v", key, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestVerifier(t *testing.T) {
	key := webhooksig.Key("k")
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"about":"incident.opened"}`)
	signed := func(id string, at time.Time, b []byte) http.Header {
		h := http.Header{}
		key.SetHeaders(h, id, at, b)
		return h
	}
	v := webhooksig.NewVerifier(key, 0)
	tests := []struct {
		name string
		h    http.Header
		body []byte
		want error
	}{
		{name: "fresh", h: signed("n-1", now, body), body: body},
		{name: "replayed id", h: signed("n-1", now.Add(time.Second), body), body: body, want: webhooksig.ErrReplay},
		{name: "stale", h: signed("n-2", now.Add(-6*time.Minute), body), body: body, want: webhooksig.ErrStale},
		{name: "from the future", h: signed("n-3", now.Add(6*time.Minute), body), body: body, want: webhooksig.ErrStale},
		{name: "tampered body", h: signed("n-4", now, body), body: []byte(`{"about":"incident.resolved"}`), want: webhooksig.ErrSignature},
		{name: "other key", h: func() http.Header {
			h := http.Header{}
			webhooksig.Key("other").SetHeaders(h, "n-5", now, body)
			return h
		}(), body: body, want: webhooksig.ErrSignature},
		{name: "unsigned", h: http.Header{}, body: body, want: webhooksig.ErrSignature},
		{name: "one of several signatures", h: func() http.Header {
			h := signed("n-6", now, body)
			h.Set(webhooksig.HeaderSignature, "v1,bm9wZQ== "+h.Get(webhooksig.HeaderSignature))
			return h
		}(), body: body},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := v.Verify(tc.h, tc.body, now); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Verify: %v, want %v", err, tc.want)
			}
		})
	}
}
