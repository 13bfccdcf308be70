// Package history writes incident state to the ClickHouse incidents table,
// one row per saved version, from a consumer of its own (Follower), so that
// the incident lifecycle never waits for ClickHouse. The table is a
// ReplacingMergeTree on the incident's version, so FINAL shows each
// incident as it is now.
package history

import (
	"context"
	"fmt"
	"time"

	"github.com/medic-sre/medic/pkg/store"
	"github.com/medic-sre/medic/services/correlator/internal/incident"
)

// Table is the ClickHouse table incidents are written to.
const Table = "incidents"

var columns = []string{"incident_id", "version", "opened_at", "status", "group_key", "title", "severity",
	"service", "model", "top_cause", "top_cause_kind", "runbook", "remediation_outcome",
	"fault_started_unix_nano", "detected_unix_nano", "opened_unix_nano", "acknowledged_unix_nano",
	"mitigated_unix_nano", "resolved_unix_nano", "fault_start_source", "acknowledged_by", "remediation_detail"}

// Writer writes incident rows.
type Writer struct {
	store *store.Store
}

// NewWriter returns a Writer on s.
func NewWriter(s *store.Store) *Writer { return &Writer{store: s} }

// Write inserts the incident's current state as a row at its version.
func (w *Writer) Write(ctx context.Context, st *incident.State) error {
	if err := w.store.Insert(ctx, Table, columns, [][]any{Row(st)}); err != nil {
		return fmt.Errorf("incident %s version %d: %w", st.ID, st.Version, err)
	}
	return nil
}

// Row is the incident as a row of the incidents table, in column order.
func Row(st *incident.State) []any {
	var cause, kind, runbook, outcome, detail string
	if st.TopCause != nil {
		cause, kind = st.TopCause.ID, st.TopCause.Kind
	}
	if st.Remediation != nil {
		runbook, outcome, detail = st.Remediation.Runbook, st.Remediation.Outcome, st.Remediation.Detail
	}
	faultStart, source := st.FaultStart()
	return []any{st.ID, st.Version, time.Unix(0, st.OpenedUnixNano).UTC(), st.Status(), st.GroupKey, st.Title,
		st.Severity, st.Service, st.Model, cause, kind, runbook, outcome,
		faultStart, st.DetectedUnixNano, st.OpenedUnixNano, st.AcknowledgedUnixNano,
		st.MitigatedUnixNano, st.ResolvedUnixNano, source, st.AcknowledgedBy, detail}
}
