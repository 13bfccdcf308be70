package events

// CloudEvent type names. The version is part of the name: a breaking change
// adds a v2 type beside v1 and never edits v1 in place.
const (
	TypeTelemetryPoints      = "dev.medic.telemetry.points.v1"
	TypeTelemetrySpans       = "dev.medic.telemetry.spans.v1"
	TypeTelemetryLogs        = "dev.medic.telemetry.logs.v1"
	TypeChangeRecorded       = "dev.medic.change.recorded.v1"
	TypeAnomalyDetected      = "dev.medic.anomaly.detected.v1"
	TypeAnomalyResolved      = "dev.medic.anomaly.resolved.v1"
	TypeIncidentOpened       = "dev.medic.incident.opened.v1"
	TypeIncidentUpdated      = "dev.medic.incident.updated.v1"
	TypeIncidentAcknowledged = "dev.medic.incident.acknowledged.v2"
	TypeIncidentMitigated    = "dev.medic.incident.mitigated.v2"
	TypeIncidentResolved     = "dev.medic.incident.resolved.v2"
	TypeRCACompleted         = "dev.medic.rca.completed.v2"
	TypeRemediationStarted   = "dev.medic.remediation.started.v1"
	TypeRemediationSucceeded = "dev.medic.remediation.succeeded.v1"
	TypeRemediationFailed    = "dev.medic.remediation.failed.v1"
	TypeRemediationEscalated = "dev.medic.remediation.escalated.v1"
	TypeNotificationSent     = "dev.medic.notification.sent.v1"
	typePrefix               = "dev.medic."
	schemaBaseURL            = "https://schemas.medic.dev/events/"
)

// Retired lists the types that a newer version replaced. Their schemas stay
// published, so that archived events still validate, but Medic no longer
// publishes them.
var Retired = []string{
	"dev.medic.incident.acknowledged.v1",
	"dev.medic.incident.mitigated.v1",
	"dev.medic.incident.resolved.v1",
	"dev.medic.rca.completed.v1",
}

// Data is the payload of one CloudEvent type. Subject names what the event is
// about (an incident id, a service), and becomes the CloudEvent subject.
type Data interface {
	EventType() string
	EventSubject() string
}

// Scope names what a record is about; every record carries it where known.
type Scope struct {
	Service      string `json:"service"`
	Model        string `json:"model,omitempty"`
	ModelVersion string `json:"model_version,omitempty"`
}

// Point is one metric value at one time (an OTLP gauge data point).
type Point struct {
	Name         string            `json:"name"`
	Value        float64           `json:"value"`
	TimeUnixNano int64             `json:"time_unix_nano"`
	Service      string            `json:"service"`
	Model        string            `json:"model,omitempty"`
	ModelVersion string            `json:"model_version,omitempty"`
	Attributes   map[string]string `json:"attributes,omitempty"`
}

// TelemetryPoints is a batch of metric points from a watched system.
type TelemetryPoints struct {
	Source string  `json:"source"`
	Points []Point `json:"points"`
}

// Span is one finished span of a watched system (an OTLP span, with its
// attributes as text). Ids are lowercase hex, as in W3C trace context.
type Span struct {
	TraceID       string `json:"trace_id"`
	SpanID        string `json:"span_id"`
	ParentSpanID  string `json:"parent_span_id,omitempty"`
	Name          string `json:"name"`
	Kind          string `json:"kind,omitempty"`
	StartUnixNano int64  `json:"start_unix_nano"`
	EndUnixNano   int64  `json:"end_unix_nano"`
	// StatusCode follows OTLP: 0 unset, 1 ok, 2 error.
	StatusCode    uint8             `json:"status_code,omitempty"`
	StatusMessage string            `json:"status_message,omitempty"`
	Service       string            `json:"service"`
	Model         string            `json:"model,omitempty"`
	ModelVersion  string            `json:"model_version,omitempty"`
	Attributes    map[string]string `json:"attributes,omitempty"`
}

// TelemetrySpans is a batch of finished spans from a watched system.
type TelemetrySpans struct {
	Source string `json:"source"`
	Spans  []Span `json:"spans"`
}

// LogRecord is one log record of a watched system (an OTLP log record).
// TraceID and SpanID link it to the span it was written in.
type LogRecord struct {
	TimeUnixNano int64 `json:"time_unix_nano"`
	// Severity is the level's name: DEBUG, INFO, WARN or ERROR (slog's
	// names; others are kept as given).
	Severity     string            `json:"severity"`
	Body         string            `json:"body"`
	TraceID      string            `json:"trace_id,omitempty"`
	SpanID       string            `json:"span_id,omitempty"`
	Service      string            `json:"service"`
	Model        string            `json:"model,omitempty"`
	ModelVersion string            `json:"model_version,omitempty"`
	Attributes   map[string]string `json:"attributes,omitempty"`
}

// TelemetryLogs is a batch of log records from a watched system.
type TelemetryLogs struct {
	Source  string      `json:"source"`
	Records []LogRecord `json:"records"`
}

// ChangeRecorded is a change to a watched system, such as a model deploy.
type ChangeRecorded struct {
	ChangeID        string `json:"change_id"`
	Kind            string `json:"kind"`
	Description     string `json:"description,omitempty"`
	Actor           string `json:"actor,omitempty"`
	PreviousVersion string `json:"previous_version,omitempty"`
	TimeUnixNano    int64  `json:"time_unix_nano"`
	Service         string `json:"service"`
	Model           string `json:"model,omitempty"`
	ModelVersion    string `json:"model_version,omitempty"`
}

// AnomalyDetected says that a detector rule's condition held for its duration.
type AnomalyDetected struct {
	AnomalyID        string            `json:"anomaly_id"`
	Rule             string            `json:"rule"`
	Fingerprint      string            `json:"fingerprint"`
	Metric           string            `json:"metric"`
	Value            float64           `json:"value"`
	Threshold        float64           `json:"threshold"`
	Severity         string            `json:"severity"`
	Summary          string            `json:"summary,omitempty"`
	Labels           map[string]string `json:"labels,omitempty"`
	StartedUnixNano  int64             `json:"started_unix_nano"`
	DetectedUnixNano int64             `json:"detected_unix_nano"`
	Service          string            `json:"service"`
	Model            string            `json:"model,omitempty"`
	ModelVersion     string            `json:"model_version,omitempty"`

	// The evidence, optional so that anomalies of older detectors (and of
	// other sources, such as Alertmanager) still read.

	// Detector is the kind of detector that fired: threshold, zscore,
	// ewma, no_data, or a statistic's name.
	Detector string `json:"detector,omitempty"`
	// Expected is what the value was judged against: a threshold rule's
	// threshold, a baseline's median or EWMA mean.
	Expected *float64 `json:"expected,omitempty"`
	// Statistic is the test statistic that fired, such as a z-score.
	Statistic *float64 `json:"statistic,omitempty"`
	// PValue is the statistic's p-value, where the test has one.
	PValue *float64 `json:"p_value,omitempty"`
	// WindowSeconds is the span of data the value was computed over, and
	// BaselineSeconds that of the baseline it was compared with.
	WindowSeconds   float64 `json:"window_seconds,omitempty"`
	BaselineSeconds float64 `json:"baseline_seconds,omitempty"`
	// Reference names what a drift detector compared the window with: a
	// trailing window of the same series or a profile file.
	Reference string `json:"reference,omitempty"`
}

// Reasons an anomaly resolved, besides its condition ceasing to hold
// (which has no reason).
const (
	// ResolvedNoData: the rule's data stopped, and the rule resolves then.
	ResolvedNoData = "no_data"
	// ResolvedDataReturned: data came back after a no-data anomaly.
	ResolvedDataReturned = "data_returned"
	// ResolvedRuleGone: no rule of the restarted detector holds the anomaly.
	ResolvedRuleGone = "rule_gone"
)

// AnomalyResolved says that a detector rule's condition stopped holding.
type AnomalyResolved struct {
	AnomalyID        string  `json:"anomaly_id"`
	Rule             string  `json:"rule"`
	Fingerprint      string  `json:"fingerprint"`
	Metric           string  `json:"metric"`
	Value            float64 `json:"value"`
	ResolvedUnixNano int64   `json:"resolved_unix_nano"`
	Service          string  `json:"service"`
	Model            string  `json:"model,omitempty"`
	ModelVersion     string  `json:"model_version,omitempty"`
	// Reason says why it resolved when that is not its condition ceasing
	// to hold: one of the Resolved* constants.
	Reason string `json:"reason,omitempty"`
}

// AnomalyRef is an anomaly as listed in an incident.
type AnomalyRef struct {
	AnomalyID        string  `json:"anomaly_id"`
	Rule             string  `json:"rule"`
	Metric           string  `json:"metric"`
	Value            float64 `json:"value"`
	StartedUnixNano  int64   `json:"started_unix_nano,omitempty"`
	DetectedUnixNano int64   `json:"detected_unix_nano,omitempty"`
	Service          string  `json:"service"`
	Model            string  `json:"model,omitempty"`
	ModelVersion     string  `json:"model_version,omitempty"`
}

// IncidentOpened says that anomalies were grouped into a new incident.
type IncidentOpened struct {
	IncidentID       string       `json:"incident_id"`
	GroupKey         string       `json:"group_key"`
	Title            string       `json:"title"`
	Severity         string       `json:"severity"`
	Service          string       `json:"service,omitempty"`
	Model            string       `json:"model,omitempty"`
	StartedUnixNano  int64        `json:"started_unix_nano"`
	DetectedUnixNano int64        `json:"detected_unix_nano"`
	OpenedUnixNano   int64        `json:"opened_unix_nano"`
	Anomalies        []AnomalyRef `json:"anomalies"`
}

// IncidentUpdated says that anomalies joined an open incident; the incident
// is analysed again, since a new symptom may have a cause of its own.
type IncidentUpdated struct {
	IncidentOpened
	AddedAnomalyIDs []string `json:"added_anomaly_ids"`
	UpdatedUnixNano int64    `json:"updated_unix_nano"`
}

// Cause is one ranked root-cause candidate with the evidence behind its score.
type Cause struct {
	Rank         int                `json:"rank"`
	Kind         string             `json:"kind"`
	ID           string             `json:"id"`
	Score        float64            `json:"score"`
	Summary      string             `json:"summary,omitempty"`
	ChangeID     string             `json:"change_id,omitempty"`
	Evidence     map[string]float64 `json:"evidence,omitempty"`
	Service      string             `json:"service,omitempty"`
	Model        string             `json:"model,omitempty"`
	ModelVersion string             `json:"model_version,omitempty"`
}

// Severities, lowest first.
const (
	SeverityInfo     = "info"
	SeverityWarning  = "warning"
	SeverityCritical = "critical"
)

// Cause kinds.
const (
	CauseService      = "service"
	CauseModelVersion = "model_version"
	CauseChange       = "change"
	CauseOperation    = "operation"
	CauseFeature      = "feature"
	// CauseLogTemplate is a log template of one service whose warning or
	// error lines surged in the incident window.
	CauseLogTemplate = "log_template"
)

// How an incident's fault start was found.
const (
	// FaultStartChange is the time of the change event the top cause points at.
	FaultStartChange = "change"
	// FaultStartSymptomOnset is an estimate: the first anomalous data of the
	// incident's symptoms, used when no change explains the incident.
	FaultStartSymptomOnset = "symptom_onset"
	// FaultStartUnknown means neither was available.
	FaultStartUnknown = "unknown"
)

// FaultStart reads a stored fault start and its source. State saved before
// sources were recorded took its fault start only from an analysis's
// change, so a time with no source counts as a change.
func FaultStart(unixNano int64, source string) (int64, string) {
	switch {
	case unixNano <= 0:
		return 0, FaultStartUnknown
	case source == "":
		return unixNano, FaultStartChange
	}
	return unixNano, source
}

// RemediationSummary is the outcome of a remediation, as carried by an
// incident transition.
type RemediationSummary struct {
	ExecutionID string `json:"execution_id"`
	Runbook     string `json:"runbook"`
	Outcome     string `json:"outcome"`
	Detail      string `json:"detail,omitempty"`
}

// Incident statuses a transition moves to; each is its own CloudEvent type.
const (
	StatusAcknowledged = "acknowledged"
	StatusMitigated    = "mitigated"
	StatusResolved     = "resolved"
)

// IncidentTransition is an incident's move to a new status (acknowledged,
// mitigated, resolved), with the incident's times and findings so far. One
// Go type serves the three CloudEvent types; Status says which it is.
type IncidentTransition struct {
	// Status is the status the incident moved to (StatusAcknowledged,
	// StatusMitigated or StatusResolved). It picks the event type, and is
	// no part of the data: decoding sets it from the event's type.
	Status               string              `json:"-"`
	IncidentID           string              `json:"incident_id"`
	GroupKey             string              `json:"group_key,omitempty"`
	Title                string              `json:"title,omitempty"`
	AtUnixNano           int64               `json:"at_unix_nano"`
	Reason               string              `json:"reason,omitempty"`
	FaultStartedUnixNano int64               `json:"fault_started_unix_nano,omitempty"`
	DetectedUnixNano     int64               `json:"detected_unix_nano,omitempty"`
	AcknowledgedUnixNano int64               `json:"acknowledged_unix_nano,omitempty"`
	MitigatedUnixNano    int64               `json:"mitigated_unix_nano,omitempty"`
	ResolvedUnixNano     int64               `json:"resolved_unix_nano,omitempty"`
	TopCause             *Cause              `json:"top_cause,omitempty"`
	Remediation          *RemediationSummary `json:"remediation,omitempty"`
	// Firing lists the anomalies still firing at this transition, so that a
	// message about a mitigation says what is not fixed yet.
	Firing           []AnomalyRef `json:"firing,omitempty"`
	FaultStartSource string       `json:"fault_start_source,omitempty"`
	// AcknowledgedBy says who took the incident: "remediation:<execution
	// id>" for an action that succeeded, or a person.
	AcknowledgedBy string `json:"acknowledged_by,omitempty"`
}

// Analysis triggers: what asked for an analysis.
const (
	TriggerOpened  = "opened"
	TriggerUpdated = "updated"
)

// Baseline says how much data the window an analysis compares against held.
type Baseline struct {
	Seconds    float64 `json:"seconds"`
	Points     int64   `json:"points"`
	Sufficient bool    `json:"sufficient"`
	Detail     string  `json:"detail,omitempty"`
}

// RCACompleted carries the ranked causes of an incident and how sure the
// analysis is of them. Causes with equal scores share a rank.
type RCACompleted struct {
	AnalysisID            string   `json:"analysis_id"`
	Trigger               string   `json:"trigger"`
	AnomalyIDs            []string `json:"anomaly_ids,omitempty"`
	Confidence            float64  `json:"confidence"`
	Tie                   bool     `json:"tie"`
	Baseline              Baseline `json:"baseline"`
	FaultStartSource      string   `json:"fault_start_source,omitempty"`
	IncidentID            string   `json:"incident_id"`
	Symptom               string   `json:"symptom"`
	WindowStartUnixNano   int64    `json:"window_start_unix_nano"`
	WindowEndUnixNano     int64    `json:"window_end_unix_nano"`
	BaselineStartUnixNano int64    `json:"baseline_start_unix_nano"`
	BaselineEndUnixNano   int64    `json:"baseline_end_unix_nano"`
	Causes                []Cause  `json:"causes"`
	FaultStartedUnixNano  int64    `json:"fault_started_unix_nano,omitempty"`
	AnalyzedUnixNano      int64    `json:"analyzed_unix_nano"`
}

// Step is one executed step of a runbook.
type Step struct {
	Name             string `json:"name"`
	Action           string `json:"action"`
	Status           string `json:"status"`
	Detail           string `json:"detail,omitempty"`
	StartedUnixNano  int64  `json:"started_unix_nano,omitempty"`
	FinishedUnixNano int64  `json:"finished_unix_nano,omitempty"`
}

// Remediation is a runbook execution against an incident.
type Remediation struct {
	ExecutionID      string `json:"execution_id"`
	IncidentID       string `json:"incident_id"`
	Runbook          string `json:"runbook"`
	CauseID          string `json:"cause_id,omitempty"`
	DryRun           bool   `json:"dry_run,omitempty"`
	Steps            []Step `json:"steps,omitempty"`
	Error            string `json:"error,omitempty"`
	StartedUnixNano  int64  `json:"started_unix_nano"`
	FinishedUnixNano int64  `json:"finished_unix_nano,omitempty"`
}

// RemediationStarted, RemediationSucceeded and RemediationFailed share the
// remediation shape; each is its own CloudEvent type.
type (
	RemediationStarted   struct{ Remediation }
	RemediationSucceeded struct{ Remediation }
	RemediationFailed    struct{ Remediation }
)

// Escalation reasons: why the remediator left an incident to people.
const (
	EscalationNoRunbook     = "no_runbook"
	EscalationLowConfidence = "low_confidence"
	EscalationTiedCauses    = "tied_causes"
	EscalationThinBaseline  = "thin_baseline"
	EscalationLowMargin     = "low_margin"
)

// RemediationEscalated says that the remediator did not act on an incident
// and hands it to people, and why.
type RemediationEscalated struct {
	EscalationID      string  `json:"escalation_id"`
	IncidentID        string  `json:"incident_id"`
	AnalysisID        string  `json:"analysis_id,omitempty"`
	Reason            string  `json:"reason"`
	Detail            string  `json:"detail"`
	Runbook           string  `json:"runbook,omitempty"`
	Confidence        float64 `json:"confidence,omitempty"`
	Cause             *Cause  `json:"cause,omitempty"`
	EscalatedUnixNano int64   `json:"escalated_unix_nano"`
}

// NotificationSent says that a receiver accepted a notification.
type NotificationSent struct {
	NotificationID string `json:"notification_id"`
	IncidentID     string `json:"incident_id"`
	Receiver       string `json:"receiver"`
	About          string `json:"about"`
	StatusCode     int    `json:"status_code,omitempty"`
	Attempts       int    `json:"attempts"`
	SentUnixNano   int64  `json:"sent_unix_nano"`
}
