package action

import (
	"bytes"
	"context"
	"fmt"
	"github.com/medic-sre/medic/pkg/httpretry"
	"io"
	"net/http"
	"time"
)

// Actor is who Medic says it is to the systems it acts on.
const Actor = "medic-remediator"

// DefaultMaxRetryAfter caps the wait a Retry-After header can ask for, so
// that a target cannot stall a remediation for long.
const DefaultMaxRetryAfter = 30 * time.Second

// Client makes the HTTP calls of actions. A 5xx, 408, 425 or 429 answer or
// a connection error is retried a few times with backoff inside the step,
// waiting at least as long as a Retry-After header asks (capped); any
// other 4xx answer fails the step at once (ErrRejected).
type Client struct {
	HTTP     *http.Client
	Attempts int
	Backoff  time.Duration
	// MaxRetryAfter caps Retry-After waits; 0 is DefaultMaxRetryAfter.
	MaxRetryAfter time.Duration
}

// NewClient builds a client whose every attempt is bounded by timeout.
func NewClient(timeout time.Duration) *Client {
	return &Client{HTTP: &http.Client{Timeout: timeout}, Attempts: 3, Backoff: 250 * time.Millisecond}
}

// answer is what one attempt got back.
type answer struct {
	code       int
	text       string
	retryAfter time.Duration
}

// Do sends the request until it succeeds, is rejected, or attempts run out,
// and returns the final status and a short excerpt of the answer.
func (c *Client) Do(ctx context.Context, method, url string, body []byte, key string) (int, string, error) {
	return c.do(ctx, method, url, body, key, excerpt)
}

// DoFull is Do returning the whole answer (up to 1 MiB), for reads whose
// answer is parsed.
func (c *Client) DoFull(ctx context.Context, method, url string, body []byte, key string) (int, string, error) {
	return c.do(ctx, method, url, body, key, 1<<20)
}

// excerpt is how much of an answer Do keeps: enough for a step's detail.
const excerpt = 512

func (c *Client) do(ctx context.Context, method, url string, body []byte, key string, limit int64) (int, string, error) {
	var lastErr error
	delay := c.Backoff
	for attempt := 1; attempt <= c.attempts(); attempt++ {
		a, err := c.once(ctx, method, url, body, key, limit)
		if err == nil && a.code < 300 {
			return a.code, a.text, nil
		}
		if err == nil && !httpretry.Retryable(a.code) {
			return a.code, a.text, fmt.Errorf("%w: %s %s answered %d: %s", ErrRejected, method, url, a.code, a.text)
		}
		if err == nil {
			err = fmt.Errorf("%s %s answered %d: %s", method, url, a.code, a.text)
		}
		lastErr = err
		if attempt == c.attempts() {
			break
		}
		if err := httpretry.Sleep(ctx, max(delay, a.retryAfter)); err != nil {
			return 0, "", fmt.Errorf("%w (last error: %w)", err, lastErr)
		}
		delay *= 2
	}
	return 0, "", fmt.Errorf("after %d attempts: %w", c.attempts(), lastErr)
}

// MaxDuration bounds how long Do can take: every attempt's timeout and the
// longest wait between them.
func (c *Client) MaxDuration() time.Duration {
	d := time.Duration(c.attempts()) * c.HTTP.Timeout
	delay := c.Backoff
	for i := 1; i < c.attempts(); i++ {
		d += max(delay, c.maxRetryAfter())
		delay *= 2
	}
	return d
}

func (c *Client) attempts() int { return max(1, c.Attempts) }

func (c *Client) maxRetryAfter() time.Duration {
	if c.MaxRetryAfter <= 0 {
		return DefaultMaxRetryAfter
	}
	return c.MaxRetryAfter
}

func (c *Client) once(ctx context.Context, method, url string, body []byte, key string, limit int64) (answer, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return answer{}, fmt.Errorf("%w: %w", ErrRejected, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Medic-Actor", Actor)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(io.LimitReader(resp.Body, limit))
	return answer{code: resp.StatusCode, text: string(bytes.TrimSpace(text)),
		retryAfter: httpretry.After(resp.Header.Get("Retry-After"), time.Now(), c.maxRetryAfter())}, nil
}
