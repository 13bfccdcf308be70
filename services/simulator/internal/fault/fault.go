// Package fault keeps the set of injected faults. What a fault does lives
// where it bites (the feature-service, the model deploy); this package only
// says which are on and since when.
package fault

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Fault kinds.
const (
	// BadModelVersion deploys the bad model version v2.
	BadModelVersion = "bad_model_version"
	// FeatureNulls makes the feature-service return a null merchant_risk
	// for most requests.
	FeatureNulls = "feature_nulls"
	// SlowDependency adds 400ms to the feature-service's latency.
	SlowDependency = "slow_dependency"
)

// Kinds lists every fault that can be injected.
var Kinds = []string{BadModelVersion, FeatureNulls, SlowDependency}

// ErrUnknownKind is returned for a fault kind not in Kinds.
var ErrUnknownKind = errors.New("unknown fault kind")

// Set is the injected faults; it is safe for concurrent use.
type Set struct {
	mu     sync.RWMutex
	active map[string]time.Time
}

// NewSet returns an empty set.
func NewSet() *Set { return &Set{active: map[string]time.Time{}} }

// Check returns ErrUnknownKind, listing the known kinds, for a bad kind.
func Check(kind string) error {
	if !slices.Contains(Kinds, kind) {
		return fmt.Errorf("%w %q: use one of %v", ErrUnknownKind, kind, Kinds)
	}
	return nil
}

// Inject turns a fault on at the given time. Injecting an active fault
// keeps its first injection time.
func (s *Set) Inject(kind string, at time.Time) (time.Time, error) {
	if err := Check(kind); err != nil {
		return time.Time{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if first, ok := s.active[kind]; ok {
		return first, nil
	}
	s.active[kind] = at
	return at, nil
}

// Clear turns a fault off; clearing an inactive fault is not an error.
func (s *Set) Clear(kind string) error {
	if err := Check(kind); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.active, kind)
	s.mu.Unlock()
	return nil
}

// Active reports whether a fault is on.
func (s *Set) Active(kind string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.active[kind]
	return ok
}

// List returns the active faults, sorted.
func (s *Set) List() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.active))
	for k := range s.active {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
