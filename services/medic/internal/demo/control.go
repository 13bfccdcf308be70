package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// control is a client of the simulator's control API.
type control struct{ base string }

func (c control) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Medic-Actor", "medic-demo")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("simulator %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("simulator %s %s: %s: %s", method, path, resp.Status, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

func (c control) injectFault(ctx context.Context, f Fault) error {
	body := map[string]string{"kind": f.Kind}
	if f.Duration > 0 {
		body["duration"] = f.Duration.String()
	}
	return c.do(ctx, http.MethodPost, "/v1/faults", body, nil)
}

// clearFaults ends the scenario's faults that are still active, as a
// responder would; one that already ended is not an error.
func (c control) clearFaults(ctx context.Context, faults []Fault) error {
	var state struct {
		Faults []string `json:"faults"` // the kinds active now
	}
	if err := c.do(ctx, http.MethodGet, "/v1/state", nil, &state); err != nil {
		return err
	}
	for _, f := range faults {
		for _, active := range state.Faults {
			if active != f.Kind {
				continue
			}
			if err := c.do(ctx, http.MethodDelete, "/v1/faults/"+f.Kind, nil, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c control) errorRate(ctx context.Context, window time.Duration) (float64, error) {
	var stats struct {
		ErrorRate float64 `json:"error_rate"`
		Requests  int     `json:"requests"`
	}
	if err := c.do(ctx, http.MethodGet, "/v1/stats?window="+window.String(), nil, &stats); err != nil {
		return 0, err
	}
	if stats.Requests == 0 {
		return 0, fmt.Errorf("no requests in the last %s", window)
	}
	return stats.ErrorRate, nil
}
