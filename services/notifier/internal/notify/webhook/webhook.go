// Package webhook delivers notifications as JSON POSTs to an HTTP endpoint,
// signed as Standard Webhooks (webhook-id, webhook-timestamp,
// webhook-signature) when a secret is configured.
package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/medic-sre/medic/pkg/httpretry"
	"github.com/medic-sre/medic/pkg/retry"
	"github.com/medic-sre/medic/pkg/webhooksig"
	"github.com/medic-sre/medic/services/notifier/internal/notify"
)

// Header names the receiver sees.
const (
	HeaderIdempotency = httpretry.HeaderIdempotencyKey
	UserAgent         = "medic-notifier"
)

// Config configures a webhook receiver.
type Config struct {
	URL string
	// Secret signs deliveries when set: "whsec_<base64 key>", or raw key
	// bytes without the prefix (see webhooksig.ParseSecret). It is never
	// logged.
	Secret string
	// Timeout bounds each attempt.
	Timeout time.Duration
	// Attempts and Backoff shape the retries inside one delivery: the
	// first wait of httpretry's policy, doubling with jitter.
	Attempts int
	Backoff  time.Duration
	// MaxRetryAfter caps the wait a Retry-After header can ask for, so a
	// receiver cannot hold the consumer for long; 0 is
	// DefaultMaxRetryAfter.
	MaxRetryAfter time.Duration
}

// DefaultMaxRetryAfter is the default cap of Retry-After waits.
const DefaultMaxRetryAfter = httpretry.DefaultMaxRetryAfter

// Receiver posts to one URL. It builds one attempt's request; the shared
// httpretry client owns the retries.
type Receiver struct {
	url    string
	key    webhooksig.Key
	client *httpretry.Client
}

// New checks the URL and builds a receiver.
func New(cfg Config) (*Receiver, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// The URL itself is not echoed: hook URLs often carry a token.
		return nil, fmt.Errorf("webhook URL is missing or not an http(s) URL: set --webhook-url or WEBHOOK_URL")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	r := &Receiver{url: cfg.URL, client: &httpretry.Client{
		HTTP:          &http.Client{Timeout: cfg.Timeout},
		Policy:        retry.Policy{Attempts: max(cfg.Attempts, 1), Initial: cfg.Backoff},
		MaxRetryAfter: cfg.MaxRetryAfter,
	}}
	if cfg.Secret != "" {
		if r.key, err = webhooksig.ParseSecret(cfg.Secret); err != nil {
			return nil, fmt.Errorf("--webhook-secret: %w", err)
		}
	}
	return r, nil
}

// answerExcerpt is how much of a receiver's answer an error quotes.
const answerExcerpt = 512

// Name implements notify.Receiver.
func (r *Receiver) Name() string { return "webhook" }

// Send implements notify.Receiver: 5xx, 408, 425 and 429 answers, timeouts
// and connection errors are retried with backoff, waiting at least as long
// as a Retry-After header asks (capped); once attempts run out the error
// is transient, so the bus redelivers later. Any other 4xx is a refusal.
func (r *Receiver) Send(ctx context.Context, m notify.Message) (notify.Delivery, error) {
	resp, err := r.client.Do(ctx, m.ID, answerExcerpt, func(ctx context.Context) (*http.Request, error) {
		return r.request(ctx, m)
	})
	var status *httpretry.StatusError
	switch {
	case err == nil:
		return notify.Delivery{StatusCode: resp.StatusCode, Attempts: resp.Attempts}, nil
	case errors.Is(err, httpretry.ErrRejected) && errors.As(err, &status):
		return notify.Delivery{}, fmt.Errorf("%w: webhook answered %d (fix the receiver or the payload; the event is in MEDIC_DLQ)", notify.ErrRejected, status.Code)
	case errors.Is(err, httpretry.ErrRejected):
		return notify.Delivery{}, fmt.Errorf("%w: %w", notify.ErrRejected, err)
	}
	return notify.Delivery{}, fmt.Errorf("webhook: %w", err)
}

// request builds one attempt: the Idempotency-Key is set by the client, the
// signature here, with this attempt's timestamp.
func (r *Receiver) request(ctx context.Context, m notify.Message) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(m.Body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	if r.key != nil {
		// The id stays the same on every retry, so that the receiver can
		// drop repeats; the timestamp is this attempt's.
		r.key.SetHeaders(req.Header, m.ID, time.Now(), m.Body)
	}
	return req, nil
}
