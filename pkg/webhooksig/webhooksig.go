// Package webhooksig signs and verifies webhook deliveries as the Standard
// Webhooks specification (https://www.standardwebhooks.com) does: an HMAC-SHA256
// over the message id, the attempt's timestamp and the body, so that a
// receiver can reject a replayed or stale delivery as well as a forged one.
package webhooksig

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The headers of a signed delivery.
const (
	// HeaderID is the message id: the same on every retry of one message.
	HeaderID = "webhook-id"
	// HeaderTimestamp is the attempt's time in Unix seconds.
	HeaderTimestamp = "webhook-timestamp"
	// HeaderSignature holds space-separated "v1,<base64 signature>" values.
	HeaderSignature = "webhook-signature"
)

// SecretPrefix marks a secret given as base64 key bytes.
const SecretPrefix = "whsec_"

// DefaultTolerance is how far a delivery's timestamp may be from the
// receiver's clock, as the specification recommends.
const DefaultTolerance = 5 * time.Minute

// Key is the HMAC key that signs deliveries.
type Key []byte

// ParseSecret reads a secret. "whsec_<base64>" is the Standard Webhooks form:
// the key is the decoded bytes, and receivers built on the specification's
// libraries take the same string. A secret without the prefix is used as raw
// key bytes, so secrets set before Medic signed this way keep working; give
// such a receiver "whsec_" plus the base64 of the secret.
func ParseSecret(secret string) (Key, error) {
	if secret == "" {
		return nil, errors.New("webhook secret is empty")
	}
	enc, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return Key(secret), nil
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(key) == 0 {
		// The secret itself is never echoed.
		return nil, fmt.Errorf("webhook secret starts with %q but the rest is not base64 key bytes", SecretPrefix)
	}
	return key, nil
}

// Sign returns the "v1,<base64>" signature of one attempt.
func (k Key) Sign(id string, at time.Time, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(k.mac(id, strconv.FormatInt(at.Unix(), 10), body))
}

// SetHeaders sets the id, timestamp and signature headers of one attempt.
func (k Key) SetHeaders(h http.Header, id string, at time.Time, body []byte) {
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
	h.Set(HeaderSignature, k.Sign(id, at, body))
}

func (k Key) mac(id, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, k)
	m.Write([]byte(id + "." + timestamp + "."))
	m.Write(body)
	return m.Sum(nil)
}
