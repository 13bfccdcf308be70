// Package changes announces the simulator's deploys and rollbacks to the
// monitoring system over HTTP, as a deploy pipeline's webhook would: a JSON
// change record POSTed to Medic's ingest endpoint (/v1/changes) with a
// bearer token. A root-cause analysis can then name the change that broke
// things.
package changes

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Change is one change record, in the shape Medic's /v1/changes takes.
type Change struct {
	ChangeID        string `json:"change_id"`
	Kind            string `json:"kind"`
	Description     string `json:"description,omitempty"`
	Actor           string `json:"actor,omitempty"`
	PreviousVersion string `json:"previous_version,omitempty"`
	TimeUnixNano    int64  `json:"time_unix_nano"`
	Service         string `json:"service"`
	Model           string `json:"model,omitempty"`
	ModelVersion    string `json:"model_version,omitempty"`
}

// Client posts changes. A zero URL posts nowhere and succeeds: the
// simulator then runs unobserved, as a system without a deploy hook.
type Client struct {
	URL, Token string
	HTTP       *http.Client
	// Attempts bounds the tries of one change; Backoff is the first pause
	// between them, doubled each time.
	Attempts int
	Backoff  time.Duration
}

// Post sends c, retrying network failures, 429 and 5xx answers. The
// change id stays the same on every try, so the receiver keeps one copy.
func (cl *Client) Post(ctx context.Context, c Change) error {
	if cl.URL == "" {
		return nil
	}
	body, err := json.Marshal(c)
	if err != nil {
		return err
	}
	pause := cl.Backoff
	var last error
	for attempt := range max(cl.Attempts, 1) {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("%w (last: %w)", ctx.Err(), last)
			case <-time.After(pause):
			}
			pause *= 2
		}
		retry, err := cl.once(ctx, body)
		if err == nil {
			return nil
		}
		last = err
		if !retry {
			return err
		}
	}
	return last
}

// once posts body one time; it reports whether a failure is worth a retry.
func (cl *Client) once(ctx context.Context, body []byte) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cl.URL, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	if cl.Token != "" {
		req.Header.Set("Authorization", "Bearer "+cl.Token)
	}
	hc := cl.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return true, fmt.Errorf("post change to %s: %w", cl.URL, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode/100 == 2 {
		return false, nil
	}
	retry := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
	return retry, fmt.Errorf("post change to %s: %s: %s", cl.URL, resp.Status, bytes.TrimSpace(msg))
}

// String describes where changes go, for the start-up log.
func (cl *Client) String() string {
	if cl.URL == "" {
		return "nowhere (no changes URL)"
	}
	return cl.URL + " (" + strconv.Itoa(max(cl.Attempts, 1)) + " attempts)"
}
