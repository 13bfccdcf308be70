// Package notify tells people about incidents: it turns incident events
// into notification payloads and hands them to a Receiver at most once per
// event, however often the event is delivered.
package notify

import (
	"fmt"
	"strings"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
)

// PayloadVersion is the version of the payload shape; receivers may rely on
// it staying compatible within a version.
const PayloadVersion = "1"

// Payload is the JSON body a receiver gets.
type Payload struct {
	Version     string                     `json:"version"`
	About       string                     `json:"about"`
	IncidentID  string                     `json:"incident_id"`
	Title       string                     `json:"title,omitempty"`
	Severity    string                     `json:"severity,omitempty"`
	Status      string                     `json:"status"`
	GroupKey    string                     `json:"group_key,omitempty"`
	DetectedAt  string                     `json:"detected_at,omitempty"`
	ResolvedAt  string                     `json:"resolved_at,omitempty"`
	TopCause    *events.Cause              `json:"top_cause,omitempty"`
	Remediation *events.RemediationSummary `json:"remediation,omitempty"`
	Summary     string                     `json:"summary"`
}

// About is the short name of an event type: "incident.opened".
func About(eventType string) string {
	s := strings.TrimPrefix(eventType, "dev.medic.")
	return s[:strings.LastIndex(s, ".v")]
}

// Build turns an incident event into a payload. Other event types are a
// permanent error: the consumer's filter should never deliver them.
func Build(ev cloudevents.Event) (Payload, error) {
	switch ev.Type() {
	case events.TypeIncidentOpened:
		in, err := events.As[events.IncidentOpened](ev)
		return opened(in), err
	case events.TypeIncidentResolved:
		in, err := events.As[events.IncidentResolved](ev)
		return resolved(in.IncidentTransition), err
	}
	return Payload{}, bus.Permanent(fmt.Errorf("notifier: no notification for event type %s", ev.Type()))
}

func opened(in events.IncidentOpened) Payload {
	p := Payload{Version: PayloadVersion, About: About(events.TypeIncidentOpened), IncidentID: in.IncidentID,
		Title: in.Title, Severity: in.Severity, Status: "open", GroupKey: in.GroupKey, DetectedAt: rfc3339(in.DetectedUnixNano)}
	p.Summary = fmt.Sprintf("[%s] Incident opened: %s (%s)", strings.ToUpper(in.Severity), in.Title, plural(len(in.Anomalies), "anomaly", "anomalies"))
	return p
}

func resolved(in events.IncidentTransition) Payload {
	at := in.ResolvedUnixNano
	if at == 0 {
		at = in.AtUnixNano
	}
	p := Payload{Version: PayloadVersion, About: About(events.TypeIncidentResolved), IncidentID: in.IncidentID,
		Title: in.Title, Status: "resolved", GroupKey: in.GroupKey, DetectedAt: rfc3339(in.DetectedUnixNano),
		ResolvedAt: rfc3339(at), TopCause: in.TopCause, Remediation: in.Remediation}
	p.Summary = resolvedSummary(in, at)
	return p
}

// resolvedSummary is one line: what, for how long, why, and what Medic did.
func resolvedSummary(in events.IncidentTransition, at int64) string {
	title := in.Title
	if title == "" {
		title = in.IncidentID
	}
	parts := []string{"Incident resolved: " + title}
	if start := in.FaultStartedUnixNano; start > 0 || in.DetectedUnixNano > 0 {
		if start == 0 {
			start = in.DetectedUnixNano
		}
		parts[0] += " after " + time.Duration(at-start).Round(time.Second).String()
	}
	if c := in.TopCause; c != nil {
		parts = append(parts, fmt.Sprintf("top cause %s %s (score %.2f)", strings.ReplaceAll(c.Kind, "_", " "), c.ID, c.Score))
	}
	if r := in.Remediation; r != nil {
		parts = append(parts, fmt.Sprintf("remediation %s %s", r.Runbook, r.Outcome))
	}
	return strings.Join(parts, "; ")
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
