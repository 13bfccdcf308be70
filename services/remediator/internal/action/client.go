package action

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/medic-sre/medic/pkg/httpretry"
	"github.com/medic-sre/medic/pkg/retry"
)

// Actor is who Medic says it is to the systems it acts on.
const Actor = "medic-remediator"

// DefaultMaxRetryAfter caps the wait a Retry-After header can ask for, so
// that a target cannot stall a remediation for long.
const DefaultMaxRetryAfter = httpretry.DefaultMaxRetryAfter

// Client makes the HTTP calls of actions through the shared httpretry
// client: a 5xx, 408, 425 or 429 answer or a connection error is retried a
// few times with backoff inside the step, waiting at least as long as a
// Retry-After header asks (capped); any other 4xx answer fails the step at
// once (ErrRejected).
type Client struct {
	HTTP     *http.Client
	Attempts int
	// Backoff is the first wait of httpretry's policy, doubling with jitter.
	Backoff time.Duration
	// MaxRetryAfter caps Retry-After waits; 0 is DefaultMaxRetryAfter.
	MaxRetryAfter time.Duration
}

// NewClient builds a client whose every attempt is bounded by timeout.
func NewClient(timeout time.Duration) *Client {
	return &Client{HTTP: &http.Client{Timeout: timeout}, Attempts: 3, Backoff: 250 * time.Millisecond}
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
	resp, err := c.retrier().Do(ctx, key, limit, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Medic-Actor", Actor)
		return req, nil
	})
	switch {
	case err == nil:
		return resp.StatusCode, string(resp.Body), nil
	case errors.Is(err, httpretry.ErrRejected):
		return resp.StatusCode, string(resp.Body), fmt.Errorf("%w: %s %s: %w", ErrRejected, method, url, err)
	}
	return 0, "", fmt.Errorf("%s %s: %w", method, url, err)
}

func (c *Client) retrier() *httpretry.Client {
	return &httpretry.Client{HTTP: c.HTTP, MaxRetryAfter: c.MaxRetryAfter,
		Policy: retry.Policy{Attempts: max(1, c.Attempts), Initial: c.Backoff}}
}

// MaxDuration bounds how long Do can take: every attempt's timeout and the
// longest wait between them.
func (c *Client) MaxDuration() time.Duration { return c.retrier().MaxDuration() }
