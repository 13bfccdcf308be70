package notify

import (
	"fmt"
	"strings"
	"time"

	"github.com/medic-sre/medic/pkg/events"
)

func opened(in events.IncidentOpened) Payload {
	p := Payload{Version: PayloadVersion, About: About(events.TypeIncidentOpened), Urgency: UrgencyNotify, IncidentID: in.IncidentID,
		Title: in.Title, Severity: in.Severity, Status: "open", GroupKey: in.GroupKey, DetectedAt: rfc3339(in.DetectedUnixNano)}
	p.Summary = fmt.Sprintf("[%s] Incident opened: %s (%s)", strings.ToUpper(in.Severity), in.Title, plural(len(in.Anomalies), "anomaly", "anomalies"))
	return p
}

// mitigated says what Medic did and what is still firing. It does not page:
// anomalies are still firing at nearly every mitigation, since detector
// windows clear some seconds after the fix, and an anomaly with a cause of
// its own is analysed, and escalated, on its own (incident.updated).
func mitigated(in events.IncidentTransition, known []events.AnomalyRef) Payload {
	p := transition(events.TypeIncidentMitigated, "mitigated", in, known)
	p.MitigatedAt = rfc3339(or(in.MitigatedUnixNano, in.AtUnixNano))
	head := "Incident mitigated: " + title(in)
	parts := append([]string{head}, findings(in, p.Cleared)...)
	if len(in.Firing) == 0 {
		parts = append(parts, "nothing still firing")
	} else {
		parts = append(parts, fmt.Sprintf("still firing %s; the incident resolves when they clear", anomalies(in.Firing)))
	}
	p.Summary = strings.Join(parts, "; ")
	return p
}

func resolved(in events.IncidentTransition, known []events.AnomalyRef) Payload {
	at := or(in.ResolvedUnixNano, in.AtUnixNano)
	p := transition(events.TypeIncidentResolved, "resolved", in, known)
	p.MitigatedAt, p.ResolvedAt = rfc3339(in.MitigatedUnixNano), rfc3339(at)
	head := "Incident resolved: " + title(in)
	if start := or(in.FaultStartedUnixNano, in.DetectedUnixNano); start > 0 {
		head += " after " + time.Duration(at-start).Round(time.Second).String()
	}
	parts := append([]string{head}, findings(in, p.Cleared)...)
	if len(in.Firing) > 0 {
		parts = append(parts, "still firing "+anomalies(in.Firing))
	}
	p.Summary = strings.Join(parts, "; ")
	return p
}

// transition is the part of the mitigated and resolved payloads that they
// share.
func transition(eventType, status string, in events.IncidentTransition, known []events.AnomalyRef) Payload {
	firing := append([]events.AnomalyRef{}, in.Firing...)
	p := Payload{Version: PayloadVersion, About: About(eventType), Urgency: UrgencyNotify, IncidentID: in.IncidentID,
		Title: in.Title, Status: status, GroupKey: in.GroupKey, DetectedAt: rfc3339(in.DetectedUnixNano),
		TopCause: in.TopCause, Remediation: in.Remediation, Firing: &firing, Cleared: cleared(known, in.Firing)}
	return p
}

// findings are the cause, what Medic did and what cleared. A remediation
// is credited only with its own outcome, never with the clearing.
func findings(in events.IncidentTransition, cleared []events.AnomalyRef) []string {
	var parts []string
	if c := in.TopCause; c != nil {
		parts = append(parts, fmt.Sprintf("top cause %s %s (score %.2f)", strings.ReplaceAll(c.Kind, "_", " "), c.ID, c.Score))
	}
	if r := in.Remediation; r != nil {
		parts = append(parts, fmt.Sprintf("remediation %s %s", r.Runbook, r.Outcome))
	}
	if len(cleared) > 0 {
		parts = append(parts, "cleared "+anomalies(cleared))
	}
	return parts
}

// cleared is known minus firing; nil when the incident's anomalies are
// not known.
func cleared(known, firing []events.AnomalyRef) []events.AnomalyRef {
	still := map[string]bool{}
	for _, a := range firing {
		still[a.AnomalyID] = true
	}
	var out []events.AnomalyRef
	for _, a := range known {
		if !still[a.AnomalyID] {
			out = append(out, a)
		}
	}
	return out
}

// anomalies names anomalies for people: "error-rate (prediction.error on
// model-server fraud@v2)".
func anomalies(as []events.AnomalyRef) string {
	names := make([]string, len(as))
	for i, a := range as {
		where := a.Service
		if a.Model != "" {
			where += " " + strings.TrimSuffix(a.Model+"@"+a.ModelVersion, "@")
		}
		names[i] = fmt.Sprintf("%s (%s on %s)", a.Rule, a.Metric, strings.TrimSpace(where))
	}
	return strings.Join(names, ", ")
}

func title(in events.IncidentTransition) string {
	if in.Title != "" {
		return in.Title
	}
	return in.IncidentID
}

// or is a unless it is zero, else b.
func or(a, b int64) int64 {
	if a != 0 {
		return a
	}
	return b
}
