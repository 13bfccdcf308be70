// Package incident is the remediator's own view of incidents, built only
// from incident events on the bus: whether an incident exists, its member
// anomalies, when it was detected and whether it is resolved. The
// remediator acts only on an analysis that this view confirms.
package incident

import (
	"slices"

	"github.com/medic-sre/medic/pkg/events"
)

// Statuses of an incident.
const (
	StatusOpen         = "open"
	StatusAcknowledged = events.StatusAcknowledged
	StatusMitigated    = events.StatusMitigated
	StatusResolved     = events.StatusResolved
)

// Record is what the view keeps of one incident. Every change to it is a
// merge (members are a union, detection the earliest time, resolution
// sticky), so applying an event twice, or events out of order, gives the
// same record.
type Record struct {
	ID               string   `json:"id"`
	Members          []string `json:"members"`
	DetectedUnixNano int64    `json:"detected_unix_nano"`
	OpenedUnixNano   int64    `json:"opened_unix_nano,omitempty"`
	Status           string   `json:"status"`
	ResolvedUnixNano int64    `json:"resolved_unix_nano,omitempty"`
}

// Resolved reports whether the incident is over.
func (r Record) Resolved() bool { return r.Status == StatusResolved }

// Opened merges an incident.opened into r.
func Opened(r Record, ev events.IncidentOpened) Record {
	r.ID = ev.IncidentID
	for _, a := range ev.Anomalies {
		r = withMember(r, a.AnomalyID)
	}
	r.DetectedUnixNano = earliest(r.DetectedUnixNano, ev.DetectedUnixNano)
	r.OpenedUnixNano = earliest(r.OpenedUnixNano, ev.OpenedUnixNano)
	if r.Status == "" {
		r.Status = StatusOpen
	}
	return r
}

// Updated merges an incident.updated into r: the anomalies that joined
// become members.
func Updated(r Record, ev events.IncidentUpdated) Record {
	r = Opened(r, ev.IncidentOpened)
	for _, id := range ev.AddedAnomalyIDs {
		r = withMember(r, id)
	}
	return r
}

// Transitioned merges an acknowledged, mitigated or resolved transition
// (status is one of the Status constants) into r. A resolved incident
// stays resolved.
func Transitioned(r Record, status string, t events.IncidentTransition) Record {
	r.ID = t.IncidentID
	r.DetectedUnixNano = earliest(r.DetectedUnixNano, t.DetectedUnixNano)
	for _, a := range t.Firing {
		r = withMember(r, a.AnomalyID)
	}
	switch {
	case status == StatusResolved:
		at := t.ResolvedUnixNano
		if at == 0 {
			at = t.AtUnixNano
		}
		r.Status, r.ResolvedUnixNano = StatusResolved, earliest(r.ResolvedUnixNano, at)
	case !r.Resolved():
		r.Status = status
	}
	return r
}

func withMember(r Record, id string) Record {
	if id == "" {
		return r
	}
	i, found := slices.BinarySearch(r.Members, id)
	if !found {
		r.Members = slices.Insert(slices.Clone(r.Members), i, id)
	}
	return r
}

// earliest is the earlier of two times, where 0 means unknown.
func earliest(a, b int64) int64 {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	}
	return min(a, b)
}

// Has reports whether id is a member.
func (r Record) Has(id string) bool {
	_, found := slices.BinarySearch(r.Members, id)
	return found
}
