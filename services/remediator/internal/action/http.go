package action

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// HTTP is the generic "http" action: method (default POST), url and an
// optional body, all rendered from the step's templates.
type HTTP struct {
	client *Client
}

// NewHTTP builds the http action.
func NewHTTP(c *Client) *HTTP { return &HTTP{client: c} }

// Name implements Action.
func (*HTTP) Name() string { return "http" }

// Check implements Action.
func (*HTTP) Check(with map[string]string) error {
	if err := require(with, []string{"url"}, "method", "body"); err != nil {
		return err
	}
	if m := with["method"]; m != "" && !strings.Contains(m, "{{") && !validMethod(m) {
		return fmt.Errorf("method %q is not an HTTP method", m)
	}
	return nil
}

// Run implements Action.
func (h *HTTP) Run(ctx context.Context, req Request) (string, error) {
	method := strings.ToUpper(req.With["method"])
	if method == "" {
		method = http.MethodPost
	}
	if !validMethod(method) {
		return "", fmt.Errorf("%w: method %q is not an HTTP method", ErrRejected, method)
	}
	u, err := url.Parse(req.With["url"])
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("%w: url %q is not an http(s) URL", ErrRejected, req.With["url"])
	}
	code, text, err := h.client.Do(ctx, method, u.String(), []byte(req.With["body"]), req.Key)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s %s: %d %s", method, u.Redacted(), code, text), nil
}

func validMethod(m string) bool {
	switch strings.ToUpper(m) {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}
