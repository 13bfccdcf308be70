package action

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Serving actions call the watched serving system's control API:
// POST /v1/models/{model}/rollback, POST /v1/models/{model}/failover and
// PUT /v1/models/{model}/active; model.state reads GET /v1/state.
type servingAction struct {
	name     string
	method   string
	suffix   string
	required []string
	optional []string
	body     func(with map[string]string) any
	base     string
	client   *Client
}

// Serving returns the model actions against the serving API at baseURL.
func Serving(baseURL string, c *Client) []Action {
	base := strings.TrimRight(baseURL, "/")
	return []Action{
		&servingAction{name: "model.rollback", method: http.MethodPost, suffix: "rollback",
			required: []string{"model"}, body: func(map[string]string) any { return struct{}{} }, base: base, client: c},
		&servingAction{name: "model.failover", method: http.MethodPost, suffix: "failover",
			required: []string{"model"}, optional: []string{"enabled"}, body: failoverBody, base: base, client: c},
		&servingAction{name: "model.set_version", method: http.MethodPut, suffix: "active",
			required: []string{"model", "version"}, body: func(w map[string]string) any { return map[string]string{"version": w["version"]} },
			base: base, client: c},
		&modelState{base: base, client: c},
	}
}

// failoverBody turns failover on unless the step says enabled: "false".
func failoverBody(with map[string]string) any {
	return map[string]bool{"enabled": with["enabled"] != "false"}
}

func (a *servingAction) Name() string { return a.name }

func (a *servingAction) Check(with map[string]string) error {
	return require(with, a.required, a.optional...)
}

func (a *servingAction) Run(ctx context.Context, req Request) (string, error) {
	if a.base == "" {
		return "", fmt.Errorf("%w: no serving system configured (set --serving-url or SERVING_URL)", ErrRejected)
	}
	model := req.With["model"]
	if model == "" {
		return "", fmt.Errorf("%w: parameter model rendered empty", ErrRejected)
	}
	body, err := json.Marshal(a.body(req.With))
	if err != nil {
		return "", err
	}
	target := a.base + "/v1/models/" + url.PathEscape(model) + "/" + a.suffix
	code, text, err := a.client.Do(ctx, a.method, target, body, req.Key)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s %s: %d %s", a.method, target, code, text), nil
}
