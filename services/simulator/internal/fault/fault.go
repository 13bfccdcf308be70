// Package fault keeps the set of injected faults. What a fault does lives
// where it bites (the feature-service, the model deploy); this package only
// says which are on, since when and, for a timed fault, until when.
package fault

import (
	"errors"
	"fmt"
	"slices"
	"strings"
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
	// ErroringDependency makes the feature-service fail a share of its
	// calls; the gateway answers those requests with an error.
	ErroringDependency = "erroring_dependency"
	// CPUExhaustion saturates the CPU of one model-server instance, which
	// serves its share of requests slower.
	CPUExhaustion = "cpu_exhaustion"
	// ConfigChange announces a config change of the model-server, which
	// then answers slower.
	ConfigChange = "config_change"
	// UpstreamDataOutage makes the feature-store, the feature-service's
	// upstream data source, return no merchant_risk rows.
	UpstreamDataOutage = "upstream_data_outage"
	// LogErrors makes the feature-service log an error line, with ids and
	// numbers that vary, on every request, and nothing else: its metrics
	// and spans stay as they were, so a new error template is the
	// failure's only sign.
	LogErrors = "log_errors"
)

// Kinds lists every fault that can be injected.
var Kinds = []string{BadModelVersion, FeatureNulls, SlowDependency, ErroringDependency, CPUExhaustion, ConfigChange, UpstreamDataOutage, LogErrors}

// ErrUnknownKind is returned for a fault kind not in Kinds.
var ErrUnknownKind = errors.New("unknown fault kind")

// Fault is one active fault.
type Fault struct {
	Kind string
	// Since is when this injection turned the fault on.
	Since time.Time
	// Until is when a timed fault ends by itself; zero means until cleared.
	Until time.Time
	// ID tells injections apart: a fault cleared and injected again gets a
	// new one, so a timer of the old injection cannot end the new one.
	ID uint64
}

// Set is the injected faults; it is safe for concurrent use.
type Set struct {
	mu     sync.RWMutex
	active map[string]Fault
	nextID uint64
}

// NewSet returns an empty set.
func NewSet() *Set { return &Set{active: map[string]Fault{}} }

// Check returns ErrUnknownKind, listing the known kinds, for a bad kind.
func Check(kind string) error {
	if !slices.Contains(Kinds, kind) {
		return fmt.Errorf("%w %q: use one of %v", ErrUnknownKind, kind, Kinds)
	}
	return nil
}

// Inject turns a fault on at the given time, to end by itself at until
// (zero: never). Injecting an active fault keeps its injection time and ID
// and takes the new until, so the latest injection says when it ends.
func (s *Set) Inject(kind string, at, until time.Time) (Fault, error) {
	if err := Check(kind); err != nil {
		return Fault{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.active[kind]
	if !ok {
		s.nextID++
		f = Fault{Kind: kind, Since: at, ID: s.nextID}
	}
	f.Until = until
	s.active[kind] = f
	return f, nil
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

// Get returns the active fault of a kind.
func (s *Set) Get(kind string) (Fault, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	f, ok := s.active[kind]
	return f, ok
}

// Active reports whether a fault is on.
func (s *Set) Active(kind string) bool {
	_, ok := s.Get(kind)
	return ok
}

// Faults returns the active faults, sorted by kind.
func (s *Set) Faults() []Fault {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Fault, 0, len(s.active))
	for _, f := range s.active {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b Fault) int { return strings.Compare(a.Kind, b.Kind) })
	return out
}

// List returns the kinds of the active faults, sorted.
func (s *Set) List() []string {
	faults := s.Faults()
	out := make([]string, 0, len(faults))
	for _, f := range faults {
		out = append(out, f.Kind)
	}
	return out
}
