// Package notify tells people about incidents: it turns incident and
// remediation events into notification payloads and hands them to a
// Receiver at most once per event, however often the event is delivered.
package notify

import (
	"fmt"
	"strings"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/outcome"
)

// PayloadVersion is the version of the payload shape; receivers may rely on
// it staying compatible within a version. Fields are only ever added
// within a version.
const PayloadVersion = "1"

// Urgencies say whether a notification needs a person now.
const (
	// UrgencyPage means a person must act: Medic did not fix the incident
	// and is not going to.
	UrgencyPage = "page"
	// UrgencyNotify is for awareness: Medic is handling the incident, or
	// it is over.
	UrgencyNotify = "notify"
)

// Payload is the JSON body a receiver gets. About says which kind of
// notification it is (the event type without prefix and version); the
// fields each kind sets are listed in the notifier's README.
type Payload struct {
	Version    string `json:"version"`
	About      string `json:"about"`
	Urgency    string `json:"urgency"`
	IncidentID string `json:"incident_id"`
	Title      string `json:"title,omitempty"`
	// Severity is the incident's severity (info, warning, critical), where
	// the event carries it; Urgency says whether to page.
	Severity    string                     `json:"severity,omitempty"`
	Status      string                     `json:"status"`
	GroupKey    string                     `json:"group_key,omitempty"`
	DetectedAt  string                     `json:"detected_at,omitempty"`
	MitigatedAt string                     `json:"mitigated_at,omitempty"`
	ResolvedAt  string                     `json:"resolved_at,omitempty"`
	TopCause    *events.Cause              `json:"top_cause,omitempty"`
	CauseID     string                     `json:"cause_id,omitempty"`
	Confidence  *float64                   `json:"confidence,omitempty"`
	Reason      string                     `json:"reason,omitempty"`
	Detail      string                     `json:"detail,omitempty"`
	Runbook     string                     `json:"runbook,omitempty"`
	Remediation *events.RemediationSummary `json:"remediation,omitempty"`
	// Firing is set on mitigated and resolved notifications, as [] when
	// nothing is firing, so that a receiver can tell "nothing" from "not
	// said".
	Firing *[]events.AnomalyRef `json:"firing,omitempty"`
	// Cleared lists the incident's anomalies that are no longer firing,
	// when the notifier knows the incident's anomalies.
	Cleared []events.AnomalyRef `json:"cleared,omitempty"`
	Summary string              `json:"summary"`
}

// About is the short name of an event type: "incident.opened".
func About(eventType string) string {
	s := strings.TrimPrefix(eventType, "dev.medic.")
	if i := strings.LastIndex(s, ".v"); i >= 0 {
		return s[:i]
	}
	return s
}

// Notifies reports whether an event type becomes a notification.
func Notifies(eventType string) bool {
	switch eventType {
	case events.TypeIncidentOpened, events.TypeIncidentMitigated, events.TypeIncidentResolved,
		events.TypeRemediationFailed, events.TypeRemediationEscalated:
		return true
	}
	return false
}

// Build turns an event's data into a payload. known lists the incident's
// anomalies as far as the notifier remembers them (nil: unknown);
// mitigated and resolved notifications use it to say what cleared. Other
// data is a permanent error: the consumer's filter should never deliver it.
func Build(d events.Data, known []events.AnomalyRef) (Payload, error) {
	switch in := d.(type) {
	case events.IncidentOpened:
		return opened(in), nil
	case events.IncidentTransition:
		switch in.Status {
		case events.StatusMitigated:
			return mitigated(in, known), nil
		case events.StatusResolved:
			return resolved(in, known), nil
		}
	case events.RemediationFailed:
		return failed(in.Remediation), nil
	case events.RemediationEscalated:
		return escalated(in), nil
	}
	return Payload{}, outcome.Permanent(fmt.Errorf("notifier: no notification for event type %s", d.EventType()))
}

func rfc3339(ns int64) string {
	if ns <= 0 {
		return ""
	}
	return time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
