package correlate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/correlator/internal/incident"
	"github.com/medic-sre/medic/services/correlator/internal/state"
)

// detected lets an anomaly join its group's open incident (publishing
// incident.updated), or opens one. An anomaly already known (a redelivery,
// or a detector re-sending it under a new event id) changes nothing.
func (h *Handler) detected(ctx context.Context, m events.Meta, a events.AnomalyDetected) error {
	st, rev, err := h.incidentOfAnomaly(ctx, a.AnomalyID)
	if err != nil {
		return err
	}
	if st != nil {
		return h.commit(ctx, m, st, rev, st.Redelivered(m.ID))
	}
	// The id derives from the opening anomaly, so if this anomaly opened an
	// incident before the index was written, it is found again.
	key := h.groups.Key(a)
	id := events.DerivedID("incident", key, a.AnomalyID)
	if st, rev, err = h.groupIncident(ctx, key, id); err != nil {
		return err
	}
	switch {
	case st == nil:
		st, res := incident.Open(id, key, a, m.ID, h.now().UnixNano())
		return h.commit(ctx, m, st, 0, res)
	case st.ID == id:
		return h.commit(ctx, m, st, rev, st.Redelivered(m.ID))
	}
	return h.commit(ctx, m, st, rev, st.AddAnomaly(a, m.ID, h.now().UnixNano()))
}

// incidentOfAnomaly finds the incident that already holds an anomaly; a nil
// state means none does.
func (h *Handler) incidentOfAnomaly(ctx context.Context, anomalyID string) (*incident.State, uint64, error) {
	id, err := h.state.IncidentOf(ctx, anomalyID)
	if errors.Is(err, state.ErrNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	return h.existing(ctx, id)
}

// groupIncident claims the group for a new incident id, or returns the
// incident that holds the group. A nil state means id holds the claim and
// is to be opened.
func (h *Handler) groupIncident(ctx context.Context, key, id string) (*incident.State, uint64, error) {
	holder, hrev, err := h.state.ClaimGroup(ctx, key, id)
	if err != nil {
		return nil, 0, err
	}
	st, rev, err := h.state.Incident(ctx, holder)
	switch {
	case errors.Is(err, state.ErrNotFound) && holder == id:
		return nil, 0, nil
	case errors.Is(err, state.ErrNotFound):
		return nil, 0, h.unsavedHolder(ctx, key, id, holder, hrev)
	case err != nil:
		return nil, 0, err
	case st.Resolved() && holder != id:
		// A stale pointer left by a crash before Link unlinked it.
		return nil, 0, h.state.TakeGroup(ctx, key, id, hrev)
	}
	return st, rev, nil
}

// unsavedHolder handles a group claimed by an incident not saved yet: most
// likely another replica is opening it this moment, so the event is retried
// to join it once saved. Only a claim older than staleClaim, whose opener
// must have been lost for good, is taken over, so that a slow opener never
// ends up beside a second incident for the same group.
func (h *Handler) unsavedHolder(ctx context.Context, key, id, holder string, rev uint64) error {
	at, err := h.state.GroupClaimedAt(ctx, key)
	if err != nil {
		return err
	}
	if age := h.now().Sub(at); age < h.staleClaim {
		return fmt.Errorf("group %s is held by incident %s, not saved yet (claimed %s ago; retrying to join it)", key, holder, age.Round(time.Millisecond))
	}
	h.log.Warn("taking over a group held by an incident that never appeared", "group", key, "holder", holder, "incident", id)
	return h.state.TakeGroup(ctx, key, id, rev)
}

// existing loads an incident a pointer names; a pointer to state that aged
// out counts as no incident.
func (h *Handler) existing(ctx context.Context, id string) (*incident.State, uint64, error) {
	st, rev, err := h.state.Incident(ctx, id)
	if errors.Is(err, state.ErrNotFound) {
		return nil, 0, nil
	}
	return st, rev, err
}

// resolved marks an anomaly cleared; the last one resolves the incident.
func (h *Handler) resolved(ctx context.Context, m events.Meta, r events.AnomalyResolved) error {
	id, err := h.state.IncidentOf(ctx, r.AnomalyID)
	if errors.Is(err, state.ErrNotFound) {
		return h.unknownIncident(m, err)
	} else if err != nil {
		return err
	}
	st, rev, err := h.load(ctx, m, id)
	if err != nil {
		return err
	}
	res, err := st.ResolveAnomaly(r, m.ID)
	if err != nil {
		return h.unknownIncident(m, err)
	}
	return h.commit(ctx, m, st, rev, res)
}

// analyzed records the RCA's top cause and fault start.
func (h *Handler) analyzed(ctx context.Context, m events.Meta, r events.RCACompleted) error {
	st, rev, err := h.load(ctx, m, r.IncidentID)
	if err != nil {
		return err
	}
	return h.commit(ctx, m, st, rev, st.ApplyRCA(r))
}

// remediated records a remediation's start, success or failure.
func (h *Handler) remediated(ctx context.Context, m events.Meta, rem events.Remediation) error {
	st, rev, err := h.load(ctx, m, rem.IncidentID)
	if err != nil {
		return err
	}
	res, err := st.ApplyRemediation(m.Type, rem, m.ID, h.now().UnixNano())
	if err != nil {
		return err
	}
	return h.commit(ctx, m, st, rev, res)
}

// escalated records that the remediator handed an incident to people.
func (h *Handler) escalated(ctx context.Context, m events.Meta, e events.RemediationEscalated) error {
	st, rev, err := h.load(ctx, m, e.IncidentID)
	if err != nil {
		return err
	}
	return h.commit(ctx, m, st, rev, st.ApplyEscalation(e))
}
