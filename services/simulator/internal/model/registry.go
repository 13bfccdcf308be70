package model

import (
	"errors"
	"fmt"
	"slices"
	"sync"
)

// Registry errors.
var (
	ErrUnknownVersion = errors.New("unknown model version")
	ErrNoPrevious     = errors.New("no previous version to roll back to")
)

// Change kinds, as in the change.recorded schema.
const (
	KindDeploy   = "deploy"
	KindRollback = "rollback"
	KindFailover = "failover"
)

// State is which versions of a model exist and which one serves.
type State struct {
	ActiveVersion   string   `json:"active_version"`
	PreviousVersion string   `json:"previous_version"`
	Versions        []string `json:"versions"`
	BackupVersion   string   `json:"backup_version"`
	Failover        bool     `json:"failover"`
}

// Serving is the version that answers requests: the backup during failover.
func (s State) Serving() string {
	if s.Failover {
		return s.BackupVersion
	}
	return s.ActiveVersion
}

// Switch is a change of the serving version.
type Switch struct {
	Kind        string
	Version     string
	Previous    string
	Description string
}

// Registry holds one model's deployment state; it is safe for concurrent use.
type Registry struct {
	mu    sync.Mutex
	state State
}

// NewRegistry starts with active serving and no previous version.
func NewRegistry(versions []string, backup, active string) *Registry {
	return &Registry{state: State{ActiveVersion: active, Versions: slices.Clone(versions), BackupVersion: backup}}
}

// State returns a copy of the current state.
func (r *Registry) State() State {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.state
	s.Versions = slices.Clone(s.Versions)
	return s
}

// Serving is the version that answers requests now.
func (r *Registry) Serving() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state.Serving()
}

// Deploy makes version active. It reports false when version already was.
func (r *Registry) Deploy(version string) (Switch, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Contains(r.state.Versions, version) {
		return Switch{}, false, fmt.Errorf("%w %q: known versions are %v", ErrUnknownVersion, version, r.state.Versions)
	}
	old := r.state.ActiveVersion
	if old == version {
		return Switch{}, false, nil
	}
	r.state.ActiveVersion, r.state.PreviousVersion = version, old
	return Switch{Kind: KindDeploy, Version: version, Previous: old,
		Description: fmt.Sprintf("deploy %s %s (was %s)", Name, version, old)}, true, nil
}

// Rollback makes the previous version active again. The previous version is
// then forgotten, so a retried rollback fails instead of redeploying the
// version it rolled back from.
func (r *Registry) Rollback() (Switch, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	prev, old := r.state.PreviousVersion, r.state.ActiveVersion
	if prev == "" {
		return Switch{}, fmt.Errorf("%w: %s runs %s", ErrNoPrevious, Name, old)
	}
	r.state.ActiveVersion, r.state.PreviousVersion = prev, ""
	return Switch{Kind: KindRollback, Version: prev, Previous: old,
		Description: fmt.Sprintf("roll back %s from %s to %s", Name, old, prev)}, nil
}

// SetFailover routes traffic to the backup (on) or back to the active
// version. It reports false when nothing changed.
func (r *Registry) SetFailover(on bool) (Switch, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state.Failover == on {
		return Switch{}, false
	}
	old := r.state.Serving()
	r.state.Failover = on
	s := Switch{Kind: KindFailover, Version: r.state.Serving(), Previous: old}
	s.Description = fmt.Sprintf("fail %s over from %s to %s", Name, old, s.Version)
	if !on {
		s.Description = fmt.Sprintf("end failover of %s: back from %s to %s", Name, old, s.Version)
	}
	return s, true
}
