package archive

import (
	"context"
	"fmt"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/store"
)

// IncidentsTable is the ClickHouse table incident states are written to,
// one row per saved version. It is a ReplacingMergeTree on the version, so
// FINAL shows each incident as it is now.
const IncidentsTable = "incidents"

// IncidentsBucket is the correlator's JetStream KV bucket of incident
// states, which the archiver follows.
const IncidentsBucket = "medic_correlator_incidents"

var incidentColumns = []string{"incident_id", "version", "opened_at", "status", "group_key", "title", "severity",
	"service", "model", "top_cause", "top_cause_kind", "runbook", "remediation_outcome",
	"fault_started_unix_nano", "detected_unix_nano", "opened_unix_nano", "acknowledged_unix_nano",
	"mitigated_unix_nano", "resolved_unix_nano", "fault_start_source", "acknowledged_by", "remediation_detail"}

// IncidentRecord is the part of an incident state, as the correlator saves
// it in IncidentsBucket (JSON), that the incidents table holds. It is the
// contract between the two: the correlator's tests write their rows through
// it, so a field renamed on one side fails them. Times are unix
// nanoseconds, 0 while unknown.
type IncidentRecord struct {
	ID                   string                     `json:"id"`
	GroupKey             string                     `json:"group_key"`
	Title                string                     `json:"title"`
	Severity             string                     `json:"severity"`
	Service              string                     `json:"service,omitempty"`
	Model                string                     `json:"model,omitempty"`
	Version              uint64                     `json:"version"`
	FaultStartedUnixNano int64                      `json:"fault_started_unix_nano,omitempty"`
	FaultStartSource     string                     `json:"fault_start_source,omitempty"`
	DetectedUnixNano     int64                      `json:"detected_unix_nano"`
	OpenedUnixNano       int64                      `json:"opened_unix_nano"`
	AcknowledgedUnixNano int64                      `json:"acknowledged_unix_nano,omitempty"`
	MitigatedUnixNano    int64                      `json:"mitigated_unix_nano,omitempty"`
	ResolvedUnixNano     int64                      `json:"resolved_unix_nano,omitempty"`
	TopCause             *events.Cause              `json:"top_cause,omitempty"`
	AcknowledgedBy       string                     `json:"acknowledged_by,omitempty"`
	Remediation          *events.RemediationSummary `json:"remediation,omitempty"`
}

// Status is the furthest status the incident reached, as the table's
// enum names it.
func (r *IncidentRecord) Status() string {
	switch {
	case r.ResolvedUnixNano > 0:
		return "resolved"
	case r.MitigatedUnixNano > 0:
		return "mitigated"
	case r.AcknowledgedUnixNano > 0:
		return "acknowledged"
	}
	return "open"
}

// FaultStart is when the incident's fault started and how that was found
// (events.FaultStart, the correlator's rule).
func (r *IncidentRecord) FaultStart() (unixNano int64, source string) {
	return events.FaultStart(r.FaultStartedUnixNano, r.FaultStartSource)
}

// IncidentWriter writes incident rows.
type IncidentWriter struct {
	store *store.Store
}

// NewIncidentWriter returns an IncidentWriter on s.
func NewIncidentWriter(s *store.Store) *IncidentWriter { return &IncidentWriter{store: s} }

// Write inserts the incident's state as a row at its version.
func (w *IncidentWriter) Write(ctx context.Context, r *IncidentRecord) error {
	if err := w.store.Insert(ctx, IncidentsTable, incidentColumns, [][]any{IncidentRow(r)}); err != nil {
		return fmt.Errorf("incident %s version %d: %w", r.ID, r.Version, err)
	}
	return nil
}

// IncidentRow is the incident as a row of the incidents table, in column
// order.
func IncidentRow(r *IncidentRecord) []any {
	var cause, kind, runbook, outcome, detail string
	if r.TopCause != nil {
		cause, kind = r.TopCause.ID, r.TopCause.Kind
	}
	if r.Remediation != nil {
		runbook, outcome, detail = r.Remediation.Runbook, r.Remediation.Outcome, r.Remediation.Detail
	}
	faultStart, source := r.FaultStart()
	return []any{r.ID, r.Version, time.Unix(0, r.OpenedUnixNano).UTC(), r.Status(), r.GroupKey, r.Title,
		r.Severity, r.Service, r.Model, cause, kind, runbook, outcome,
		faultStart, r.DetectedUnixNano, r.OpenedUnixNano, r.AcknowledgedUnixNano,
		r.MitigatedUnixNano, r.ResolvedUnixNano, source, r.AcknowledgedBy, detail}
}
