package httpretry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/medic-sre/medic/pkg/retry"
)

// DefaultMaxRetryAfter caps the wait a Retry-After header can ask for, so
// that a server cannot hold a caller for long.
const DefaultMaxRetryAfter = 30 * time.Second

// DefaultLimit is how much of an answer the client reads by default.
const DefaultLimit = 64 << 10

// ErrRejected means the server refused the request for good (a 4xx other
// than 408, 425 and 429), or the request could not be built: sending it
// again cannot help.
var ErrRejected = errors.New("request rejected")

// HeaderIdempotencyKey carries the key that is the same on every attempt.
const HeaderIdempotencyKey = "Idempotency-Key"

// Client is the one retry stage of Medic's HTTP integrations (the
// notifier's webhook, the remediator's actions). An integration only builds
// one attempt's request; the client sends it, retries 5xx, 408, 425 and 429
// answers and transport errors with the Policy's backoff, waits at least as
// long as a Retry-After header asks (capped at MaxRetryAfter), and sets the
// same Idempotency-Key on every attempt.
type Client struct {
	HTTP   *http.Client
	Policy retry.Policy
	// MaxRetryAfter caps Retry-After waits; 0 is DefaultMaxRetryAfter.
	MaxRetryAfter time.Duration
}

// Attempt builds one attempt's request. It is called for every attempt,
// so that the body is fresh and per-attempt headers (a signature's
// timestamp) are current.
type Attempt func(ctx context.Context) (*http.Request, error)

// Response is the answer that ended the retries.
type Response struct {
	StatusCode int
	// Body is the answer, up to the limit Do was given.
	Body []byte
	// Attempts counts the requests sent, this one included.
	Attempts int
}

// StatusError is an answer that is not 2xx. It says neither the method nor
// the URL, which may carry a token; callers add what is safe to say.
type StatusError struct {
	Code int
	Body string
}

func (e *StatusError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("answered %d", e.Code)
	}
	return fmt.Sprintf("answered %d: %s", e.Code, e.Body)
}

// Is makes a non-retryable answer an ErrRejected.
func (e *StatusError) Is(target error) bool { return target == ErrRejected && !Retryable(e.Code) }

// Do sends build's requests until one gets a 2xx answer, the answer is a
// refusal (ErrRejected, with a *StatusError), attempts run out or ctx ends.
// key, when not empty, is the Idempotency-Key of every attempt; limit
// bounds how much of an answer is kept (0 is DefaultLimit). On failure the
// Response holds the last answer, if any.
func (c *Client) Do(ctx context.Context, key string, limit int64, build Attempt) (Response, error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	var resp Response
	n, err := retry.Do(ctx, c.Policy, func(attempt int) error {
		resp.Attempts = attempt
		req, err := build(ctx)
		if err != nil {
			return retry.Permanent(fmt.Errorf("%w: %w", ErrRejected, err))
		}
		if key != "" {
			req.Header.Set(HeaderIdempotencyKey, key)
		}
		r, after, err := c.once(req, limit)
		if err != nil {
			return err
		}
		resp.StatusCode, resp.Body = r.StatusCode, r.Body
		switch {
		case r.StatusCode < 300:
			return nil
		case !Retryable(r.StatusCode):
			return retry.Permanent(&StatusError{Code: r.StatusCode, Body: string(r.Body)})
		}
		return retry.WaitAtLeast(&StatusError{Code: r.StatusCode, Body: string(r.Body)}, after)
	}, nil)
	resp.Attempts = n
	if err != nil && !errors.Is(err, ErrRejected) && ctx.Err() == nil {
		err = fmt.Errorf("after %d attempts: %w", n, err)
	}
	return resp, err
}

// once sends one request and reads up to limit bytes of the answer.
func (c *Client) once(req *http.Request, limit int64) (Response, time.Duration, error) {
	r, err := c.HTTP.Do(req)
	if err != nil {
		return Response{}, 0, err
	}
	defer r.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(r.Body, limit))
	after := After(r.Header.Get("Retry-After"), time.Now(), c.maxRetryAfter())
	return Response{StatusCode: r.StatusCode, Body: bytes.TrimSpace(body)}, after, nil
}

func (c *Client) maxRetryAfter() time.Duration {
	if c.MaxRetryAfter <= 0 {
		return DefaultMaxRetryAfter
	}
	return c.MaxRetryAfter
}

// MaxDuration bounds how long Do can take with a bounded Policy: every
// attempt's timeout and the longest wait between them.
func (c *Client) MaxDuration() time.Duration {
	n := max(c.Policy.Attempts, 1)
	d := time.Duration(n) * c.HTTP.Timeout
	for i := 1; i < n; i++ {
		d += max(c.Policy.MaxWait(i), c.maxRetryAfter())
	}
	return d
}
