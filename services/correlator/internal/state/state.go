// Package state keeps the correlator's memory in JetStream KV buckets, so
// that it survives restarts and is shared by every correlator replica:
// incidents by id, the open incident of each group, and the incident of each
// anomaly.
package state

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/medic-sre/medic/pkg/kv"
	"github.com/medic-sre/medic/services/correlator/internal/incident"
	"github.com/nats-io/nats.go/jetstream"
)

// Bucket names.
const (
	BucketIncidents = "medic_correlator_incidents"
	BucketGroups    = "medic_correlator_groups"
	BucketAnomalies = "medic_correlator_anomalies"
)

// Retention of an incident's state and of its anomalies' index. A group's
// open-incident pointer is deleted when the incident resolves instead.
const Retention = 30 * 24 * time.Hour

// ErrNotFound means the key holds nothing (never written, deleted, or aged
// out). It is kv.ErrNotFound.
var ErrNotFound = kv.ErrNotFound

// Store is the correlator's state in JetStream KV. Incidents are JSON;
// the group and anomaly pointers hold a bare incident id.
type Store struct {
	incidents         *kv.Store[incident.State]
	groups, anomalies *kv.Store[string]
}

// Open creates the buckets if needed and binds to them.
func Open(ctx context.Context, js jetstream.JetStream) (*Store, error) {
	b := kv.JetStream(js)
	incidents, err := kv.Open[incident.State](ctx, b, kv.Config{Bucket: BucketIncidents, TTL: Retention})
	if err != nil {
		return nil, err
	}
	groups, err := kv.OpenText(ctx, b, kv.Config{Bucket: BucketGroups})
	if err != nil {
		return nil, err
	}
	anomalies, err := kv.OpenText(ctx, b, kv.Config{Bucket: BucketAnomalies, TTL: Retention})
	if err != nil {
		return nil, err
	}
	return &Store{incidents: incidents, groups: groups, anomalies: anomalies}, nil
}

// Incident loads an incident and the revision to pass to Save.
func (s *Store) Incident(ctx context.Context, id string) (*incident.State, uint64, error) {
	e, err := s.incidents.Get(ctx, id)
	if err != nil {
		return nil, 0, fmt.Errorf("incident %s: %w", id, err)
	}
	return &e.Value, e.Revision, nil
}

// Save stores an incident. rev is the revision it was loaded at (0 for a new
// one): if another writer saved it since, Save fails and the caller's event
// is retried on the fresh state.
func (s *Store) Save(ctx context.Context, st *incident.State, rev uint64) error {
	var err error
	if rev == 0 {
		_, err = s.incidents.Create(ctx, st.ID, *st)
	} else {
		_, err = s.incidents.Update(ctx, st.ID, *st, rev)
	}
	if err != nil {
		return fmt.Errorf("save incident %s (revision %d): %w", st.ID, rev, err)
	}
	return nil
}

// OpenIncident is the id of the group's open incident, or ErrNotFound.
func (s *Store) OpenIncident(ctx context.Context, groupKey string) (string, error) {
	e, err := s.groups.Get(ctx, groupKey)
	if err != nil {
		return "", fmt.Errorf("group %s: %w", groupKey, err)
	}
	return e.Value, nil
}

// ClaimGroup makes id the group's open incident unless the group already
// has one, with a KV Create, so that of two replicas opening an incident for
// one group at once only one succeeds. It returns the group's incident id
// (id itself when the claim is new, or was made by an earlier attempt of the
// same anomaly) and the pointer's revision, for TakeGroup.
func (s *Store) ClaimGroup(ctx context.Context, groupKey, id string) (holder string, rev uint64, err error) {
	rev, err = s.groups.Create(ctx, groupKey, id)
	if err == nil {
		return id, rev, nil
	}
	if !errors.Is(err, kv.ErrExists) {
		return "", 0, fmt.Errorf("claim group %s: %w", groupKey, err)
	}
	e, err := s.groups.Get(ctx, groupKey)
	if err != nil {
		// Deleted since the Create (its incident resolved): the retry claims it.
		return "", 0, fmt.Errorf("claim group %s: %w", groupKey, err)
	}
	return e.Value, e.Revision, nil
}

// GroupClaimedAt is when the group's current pointer was written.
func (s *Store) GroupClaimedAt(ctx context.Context, groupKey string) (time.Time, error) {
	e, err := s.groups.Get(ctx, groupKey)
	if err != nil {
		return time.Time{}, fmt.Errorf("read group %s: %w", groupKey, err)
	}
	return e.Created, nil
}

// TakeGroup points the group at id in place of a stale pointer, if the
// pointer is still at revision rev; otherwise another writer moved it first
// and the caller retries.
func (s *Store) TakeGroup(ctx context.Context, groupKey, id string, rev uint64) error {
	if _, err := s.groups.Update(ctx, groupKey, id, rev); err != nil {
		return fmt.Errorf("take group %s for incident %s: %w", groupKey, id, err)
	}
	return nil
}

// IncidentOf is the id of the incident an anomaly belongs to, or ErrNotFound.
func (s *Store) IncidentOf(ctx context.Context, anomalyID string) (string, error) {
	e, err := s.anomalies.Get(ctx, anomalyID)
	if err != nil {
		return "", fmt.Errorf("anomaly %s: %w", anomalyID, err)
	}
	return e.Value, nil
}

// Link points the incident's anomalies at it, and its group at it while it
// is open and the group has no other (the pointer goes once it resolves, so
// the group's next anomaly opens a new incident). Every write is idempotent,
// so Link also repairs the pointers after a crash between Save and Link.
func (s *Store) Link(ctx context.Context, st *incident.State) error {
	for _, a := range st.Anomalies {
		// An anomaly belongs to one incident for good, so its pointer is
		// only ever written with the same id: no revision to check.
		if _, err := s.anomalies.Put(ctx, a.AnomalyID, st.ID); err != nil {
			return fmt.Errorf("index anomaly %s: %w", a.AnomalyID, err)
		}
	}
	if !st.Resolved() {
		// The group was claimed before the incident opened (ClaimGroup):
		// this only restores a missing pointer, and never moves one that
		// names another incident.
		_, err := s.groups.Create(ctx, st.GroupKey, st.ID)
		if err != nil && !errors.Is(err, kv.ErrExists) {
			return fmt.Errorf("point group %s at incident %s: %w", st.GroupKey, st.ID, err)
		}
		return nil
	}
	return s.unlinkGroup(ctx, st)
}

// unlinkGroup deletes the group's pointer if it still names this incident.
func (s *Store) unlinkGroup(ctx context.Context, st *incident.State) error {
	e, err := s.groups.Get(ctx, st.GroupKey)
	if errors.Is(err, kv.ErrNotFound) || (err == nil && e.Value != st.ID) {
		return nil
	}
	if err == nil {
		err = s.groups.DeleteAt(ctx, st.GroupKey, e.Revision)
	}
	if err != nil {
		return fmt.Errorf("close group %s: %w", st.GroupKey, err)
	}
	return nil
}
