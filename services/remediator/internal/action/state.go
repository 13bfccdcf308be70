package action

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// Reader is an action that only observes: it reports the target's state as
// named fields, so that a runbook can declare when a step's effect is
// already visible (done_when) and a remediator that takes over an
// interrupted run can tell what the run did.
type Reader interface {
	Action
	// Read returns the observed fields.
	Read(ctx context.Context, req Request) (map[string]string, error)
}

// modelState is the "model.state" read action: GET /v1/state of the
// serving system, narrowed to one model. Its fields are active_version,
// previous_version, backup_version, failover ("true" or "false") and
// serving_version (the backup during failover, else the active version).
type modelState struct {
	base   string
	client *Client
}

// servingState is the part of GET /v1/state that model.state reads.
type servingState struct {
	Models map[string]struct {
		ActiveVersion   string `json:"active_version"`
		PreviousVersion string `json:"previous_version"`
		BackupVersion   string `json:"backup_version"`
		Failover        bool   `json:"failover"`
	} `json:"models"`
}

func (*modelState) Name() string { return "model.state" }

func (*modelState) Check(with map[string]string) error { return require(with, []string{"model"}) }

// Run implements Action: the state as one line, for a step that logs it.
func (a *modelState) Run(ctx context.Context, req Request) (string, error) {
	fields, err := a.Read(ctx, req)
	if err != nil {
		return "", err
	}
	return Describe(fields), nil
}

// Read implements Reader.
func (a *modelState) Read(ctx context.Context, req Request) (map[string]string, error) {
	if a.base == "" {
		return nil, fmt.Errorf("%w: no serving system configured (set --serving-url or SERVING_URL)", ErrRejected)
	}
	model := req.With["model"]
	// A read carries no Idempotency-Key: a target that cached answers by
	// key would show a second takeover the state the first one saw.
	_, text, err := a.client.DoFull(ctx, http.MethodGet, a.base+"/v1/state", nil, "")
	if err != nil {
		return nil, err
	}
	var st servingState
	if err := json.Unmarshal([]byte(text), &st); err != nil {
		return nil, fmt.Errorf("read state of model %s: unreadable answer: %w", model, err)
	}
	m, ok := st.Models[model]
	if !ok {
		return nil, fmt.Errorf("%w: the serving system has no model %q", ErrRejected, model)
	}
	serving := m.ActiveVersion
	if m.Failover {
		serving = m.BackupVersion
	}
	return map[string]string{"active_version": m.ActiveVersion, "previous_version": m.PreviousVersion,
		"backup_version": m.BackupVersion, "failover": strconv.FormatBool(m.Failover), "serving_version": serving}, nil
}

// Describe writes fields as "a=1 b=2", sorted by name.
func Describe(fields map[string]string) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + fields[k]
	}
	return strings.Join(parts, " ")
}
