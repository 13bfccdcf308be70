// Package action holds what runbook steps do: small actions, looked up by
// name in a registry, that act on the watched system. Serving-system actions
// live here now; Kubernetes or model-registry actions fit the same interface.
package action

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
)

// ErrRejected means the target refused the request (a 4xx answer); repeating
// it will not help.
var ErrRejected = errors.New("request rejected")

// Request is one call of an action.
type Request struct {
	// ExecutionID identifies the remediation.
	ExecutionID string
	// Key identifies this call: one step of one execution. Targets get it
	// as the Idempotency-Key, so a retried call is answered once; two
	// steps of a runbook must not share a key, or the second would get
	// the first one's answer.
	Key string
	// With holds the step's rendered parameters.
	With map[string]string
}

// Action is one kind of step.
type Action interface {
	// Name is how runbooks refer to the action ("model.rollback").
	Name() string
	// Check validates a step's parameters (before rendering) at load time.
	Check(with map[string]string) error
	// Run performs the action and describes what happened.
	Run(ctx context.Context, req Request) (detail string, err error)
}

// Registry finds actions by name.
type Registry struct {
	actions map[string]Action
}

// NewRegistry registers actions; a later one replaces an earlier namesake.
func NewRegistry(actions ...Action) *Registry {
	r := &Registry{actions: map[string]Action{}}
	for _, a := range actions {
		r.actions[a.Name()] = a
	}
	return r
}

// Get returns the action called name.
func (r *Registry) Get(name string) (Action, bool) {
	a, ok := r.actions[name]
	return a, ok
}

// Names lists the registered actions, sorted.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.actions))
	for n := range r.actions {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Check validates a runbook step: a known action with the parameters it needs.
func (r *Registry) Check(name string, with map[string]string) error {
	a, ok := r.Get(name)
	if !ok {
		return fmt.Errorf("unknown action %q: use one of %v", name, r.Names())
	}
	return a.Check(with)
}

// CheckRead validates the action of a done_when check: a known action
// that only reads (a Reader), with the parameters it needs.
func (r *Registry) CheckRead(name string, with map[string]string) error {
	if err := r.Check(name, with); err != nil {
		return err
	}
	if _, ok := r.actions[name].(Reader); !ok {
		var readers []string
		for _, n := range r.Names() {
			if _, ok := r.actions[n].(Reader); ok {
				readers = append(readers, n)
			}
		}
		return fmt.Errorf("action %q does not read state: use one of %v", name, readers)
	}
	return nil
}

// Reader returns the read action called name.
func (r *Registry) Reader(name string) (Reader, bool) {
	a, ok := r.actions[name].(Reader)
	return a, ok
}

// require checks that with holds every key in keys, and nothing else
// outside allowed.
func require(with map[string]string, keys []string, optional ...string) error {
	for _, k := range keys {
		if with[k] == "" {
			return fmt.Errorf("needs parameter %q in with", k)
		}
	}
	for k := range with {
		if !slices.Contains(keys, k) && !slices.Contains(optional, k) {
			return fmt.Errorf("unknown parameter %q in with: allowed are %v", k, append(keys, optional...))
		}
	}
	return nil
}

// Default is the registry of every built-in action: the serving-system
// model actions against servingURL, and http.
func Default(servingURL string, c *Client) *Registry {
	return NewRegistry(append(Serving(servingURL, c), NewHTTP(c))...)
}
