package events

// EventType and EventSubject tie each payload to its CloudEvent type and to
// what it is about. Incident-scoped events use the incident id as subject, so
// the events table can show an incident's timeline.

func (TelemetryPoints) EventType() string           { return TypeTelemetryPoints }
func (d TelemetryPoints) EventSubject() string      { return d.Source }
func (TelemetrySpans) EventType() string            { return TypeTelemetrySpans }
func (d TelemetrySpans) EventSubject() string       { return d.Source }
func (TelemetryLogs) EventType() string             { return TypeTelemetryLogs }
func (d TelemetryLogs) EventSubject() string        { return d.Source }
func (ChangeRecorded) EventType() string            { return TypeChangeRecorded }
func (d ChangeRecorded) EventSubject() string       { return d.Service }
func (AnomalyDetected) EventType() string           { return TypeAnomalyDetected }
func (d AnomalyDetected) EventSubject() string      { return d.Fingerprint }
func (AnomalyResolved) EventType() string           { return TypeAnomalyResolved }
func (d AnomalyResolved) EventSubject() string      { return d.Fingerprint }
func (IncidentOpened) EventType() string            { return TypeIncidentOpened }
func (d IncidentOpened) EventSubject() string       { return d.IncidentID }
func (IncidentUpdated) EventType() string           { return TypeIncidentUpdated }
func (d IncidentTransition) EventSubject() string   { return d.IncidentID }
func (RCACompleted) EventType() string              { return TypeRCACompleted }
func (d RCACompleted) EventSubject() string         { return d.IncidentID }
func (RemediationStarted) EventType() string        { return TypeRemediationStarted }
func (RemediationSucceeded) EventType() string      { return TypeRemediationSucceeded }
func (RemediationFailed) EventType() string         { return TypeRemediationFailed }
func (d Remediation) EventSubject() string          { return d.IncidentID }
func (RemediationEscalated) EventType() string      { return TypeRemediationEscalated }
func (d RemediationEscalated) EventSubject() string { return d.IncidentID }
func (NotificationSent) EventType() string          { return TypeNotificationSent }
func (d NotificationSent) EventSubject() string     { return d.IncidentID }

// transitionTypes maps a transition's status to its event type.
var transitionTypes = map[string]string{
	StatusAcknowledged: TypeIncidentAcknowledged,
	StatusMitigated:    TypeIncidentMitigated,
	StatusResolved:     TypeIncidentResolved,
}

// EventType is the type of the transition's status; a transition without
// a known status has none, and fails validation when published.
func (d IncidentTransition) EventType() string { return transitionTypes[d.Status] }

// EventTypes lists the types IncidentTransition decodes from.
func (IncidentTransition) EventTypes() []string {
	return []string{TypeIncidentAcknowledged, TypeIncidentMitigated, TypeIncidentResolved}
}

// setEventType sets the status that eventType stands for.
func (d *IncidentTransition) setEventType(eventType string) {
	for status, t := range transitionTypes {
		if t == eventType {
			d.Status = status
		}
	}
}
