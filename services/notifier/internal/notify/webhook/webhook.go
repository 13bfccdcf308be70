// Package webhook delivers notifications as JSON POSTs to an HTTP endpoint,
// signed as Standard Webhooks (webhook-id, webhook-timestamp,
// webhook-signature) when a secret is configured.
package webhook

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/medic-sre/medic/pkg/httpretry"
	"github.com/medic-sre/medic/pkg/webhooksig"
	"github.com/medic-sre/medic/services/notifier/internal/notify"
)

// Header names the receiver sees.
const (
	HeaderIdempotency = "Idempotency-Key"
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
	// Attempts and Backoff shape the retries inside one delivery.
	Attempts int
	Backoff  time.Duration
	// MaxRetryAfter caps the wait a Retry-After header can ask for, so a
	// receiver cannot hold the consumer for long; 0 is
	// DefaultMaxRetryAfter.
	MaxRetryAfter time.Duration
}

// DefaultMaxRetryAfter is the default cap of Retry-After waits.
const DefaultMaxRetryAfter = 30 * time.Second

// Receiver posts to one URL.
type Receiver struct {
	cfg    Config
	key    webhooksig.Key
	client *http.Client
}

// New checks the URL and builds a receiver.
func New(cfg Config) (*Receiver, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// The URL itself is not echoed: hook URLs often carry a token.
		return nil, fmt.Errorf("webhook URL is missing or not an http(s) URL: set --webhook-url or WEBHOOK_URL")
	}
	cfg.Attempts = max(cfg.Attempts, 1)
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MaxRetryAfter <= 0 {
		cfg.MaxRetryAfter = DefaultMaxRetryAfter
	}
	r := &Receiver{cfg: cfg, client: &http.Client{Timeout: cfg.Timeout}}
	if cfg.Secret != "" {
		if r.key, err = webhooksig.ParseSecret(cfg.Secret); err != nil {
			return nil, fmt.Errorf("--webhook-secret: %w", err)
		}
	}
	return r, nil
}

// Name implements notify.Receiver.
func (r *Receiver) Name() string { return "webhook" }

// Send implements notify.Receiver: 5xx, 408, 425 and 429 answers, timeouts
// and connection errors are retried with backoff, waiting at least as long
// as a Retry-After header asks (capped); once attempts run out the error
// is transient, so the bus redelivers later. Any other 4xx is a refusal.
func (r *Receiver) Send(ctx context.Context, m notify.Message) (notify.Delivery, error) {
	delay := r.cfg.Backoff
	var lastErr error
	for attempt := 1; attempt <= r.cfg.Attempts; attempt++ {
		a, err := r.post(ctx, m)
		switch {
		case err == nil && a.code < 300:
			return notify.Delivery{StatusCode: a.code, Attempts: attempt}, nil
		case err == nil && !httpretry.Retryable(a.code):
			return notify.Delivery{}, fmt.Errorf("%w: webhook answered %d (fix the receiver or the payload; the event is in MEDIC_DLQ)", notify.ErrRejected, a.code)
		case err == nil:
			err = fmt.Errorf("webhook answered %d", a.code)
		}
		lastErr = err
		if attempt == r.cfg.Attempts {
			break
		}
		if err := httpretry.Sleep(ctx, max(delay, a.retryAfter)); err != nil {
			return notify.Delivery{}, err
		}
		delay *= 2
	}
	return notify.Delivery{}, fmt.Errorf("after %d attempts: %w", r.cfg.Attempts, lastErr)
}

// answer is what one attempt got back.
type answer struct {
	code       int
	retryAfter time.Duration
}

func (r *Receiver) post(ctx context.Context, m notify.Message) (answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.cfg.URL, bytes.NewReader(m.Body))
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set(HeaderIdempotency, m.ID)
	if r.key != nil {
		// The id stays the same on every retry, so that the receiver can
		// drop repeats; the timestamp is this attempt's.
		r.key.SetHeaders(req.Header, m.ID, time.Now(), m.Body)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return answer{code: resp.StatusCode, retryAfter: httpretry.After(resp.Header.Get("Retry-After"), time.Now(), r.cfg.MaxRetryAfter)}, nil
}
