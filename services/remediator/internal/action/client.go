package action

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Actor is who Medic says it is to the systems it acts on.
const Actor = "medic-remediator"

// Client makes the HTTP calls of actions. A 5xx answer or a connection
// error is retried a few times with backoff inside the step; a 4xx answer
// fails the step at once (ErrRejected).
type Client struct {
	HTTP     *http.Client
	Attempts int
	Backoff  time.Duration
}

// NewClient builds a client whose every attempt is bounded by timeout.
func NewClient(timeout time.Duration) *Client {
	return &Client{HTTP: &http.Client{Timeout: timeout}, Attempts: 3, Backoff: 250 * time.Millisecond}
}

// Do sends the request until it succeeds, is rejected, or attempts run out,
// and returns the final status and a short excerpt of the answer.
func (c *Client) Do(ctx context.Context, method, url string, body []byte, key string) (int, string, error) {
	var lastErr error
	delay := c.Backoff
	for attempt := 1; attempt <= max(1, c.Attempts); attempt++ {
		code, text, err := c.once(ctx, method, url, body, key)
		if err == nil && code < 300 {
			return code, text, nil
		}
		if err == nil && code < 500 {
			return code, text, fmt.Errorf("%w: %s %s answered %d: %s", ErrRejected, method, url, code, text)
		}
		if err == nil {
			err = fmt.Errorf("%s %s answered %d: %s", method, url, code, text)
		}
		lastErr = err
		if attempt == c.Attempts {
			break
		}
		select {
		case <-ctx.Done():
			return 0, "", fmt.Errorf("%w (last error: %v)", ctx.Err(), lastErr)
		case <-time.After(delay):
		}
		delay *= 2
	}
	return 0, "", fmt.Errorf("after %d attempts: %w", c.Attempts, lastErr)
}

func (c *Client) once(ctx context.Context, method, url string, body []byte, key string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return 0, "", fmt.Errorf("%w: %v", ErrRejected, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Medic-Actor", Actor)
	req.Header.Set("Idempotency-Key", key)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return resp.StatusCode, string(bytes.TrimSpace(text)), nil
}
