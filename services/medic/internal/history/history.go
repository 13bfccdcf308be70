// Package history reads incident history from ClickHouse: an incident's
// row, its MTTD/MTTA/MTTR computed in SQL, and its timeline of events.
package history

import (
	"context"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Incident is the newest version of one incidents row.
type Incident struct {
	ID, Title, Status, Severity, Model string
	TopCause, TopCauseKind             string
	Runbook, RemediationOutcome        string
	FaultStarted, Detected, Opened     int64
	Acknowledged, Mitigated, Resolved  int64
}

// Durations are seconds computed by ClickHouse; -1 means not yet known.
type Durations struct {
	MTTD, MTTA, TimeToMitigate, MTTR float64
}

// DurationsSQL is the query behind Durations, shown to users as is. The
// fault start is the change the root cause points at, where known, else the
// detection time.
const DurationsSQL = `SELECT
    if(fault_started_unix_nano > 0, (detected_unix_nano - fault_started_unix_nano) / 1e9, -1) AS mttd_s,
    if(acknowledged_unix_nano > 0, (acknowledged_unix_nano - detected_unix_nano) / 1e9, -1) AS mtta_s,
    if(mitigated_unix_nano > 0, (mitigated_unix_nano - if(fault_started_unix_nano > 0, fault_started_unix_nano, detected_unix_nano)) / 1e9, -1) AS ttm_s,
    if(resolved_unix_nano > 0, (resolved_unix_nano - if(fault_started_unix_nano > 0, fault_started_unix_nano, detected_unix_nano)) / 1e9, -1) AS mttr_s
FROM incidents FINAL
WHERE incident_id = ?`

// Get reads one incident.
func Get(ctx context.Context, conn driver.Conn, id string) (Incident, error) {
	var in Incident
	err := conn.QueryRow(ctx, `SELECT incident_id, title, toString(status), severity, model, top_cause, top_cause_kind, runbook,
		remediation_outcome, fault_started_unix_nano, detected_unix_nano, opened_unix_nano, acknowledged_unix_nano,
		mitigated_unix_nano, resolved_unix_nano FROM incidents FINAL WHERE incident_id = ?`, id).Scan(
		&in.ID, &in.Title, &in.Status, &in.Severity, &in.Model, &in.TopCause, &in.TopCauseKind, &in.Runbook,
		&in.RemediationOutcome, &in.FaultStarted, &in.Detected, &in.Opened, &in.Acknowledged, &in.Mitigated, &in.Resolved)
	if err != nil {
		return in, fmt.Errorf("incident %s: %w", id, err)
	}
	return in, nil
}

// GetDurations computes an incident's MTTD, MTTA, time to mitigate and
// MTTR in ClickHouse.
func GetDurations(ctx context.Context, conn driver.Conn, id string) (Durations, error) {
	var d Durations
	if err := conn.QueryRow(ctx, DurationsSQL, id).Scan(&d.MTTD, &d.MTTA, &d.TimeToMitigate, &d.MTTR); err != nil {
		return d, fmt.Errorf("durations of %s: %w", id, err)
	}
	return d, nil
}

// Entry is one event of an incident's timeline.
type Entry struct {
	TimeUnixNano int64
	Type, Source string
	Data         string
}

// Timeline lists the events of an incident in time order, with the changes
// and the anomalies of its model from a minute before it was detected until
// it resolved. An event re-published after JetStream's duplicate window has
// a second row with a later time; LIMIT 1 BY id keeps the first.
func Timeline(ctx context.Context, conn driver.Conn, in Incident) ([]Entry, error) {
	end := in.Resolved
	if end == 0 {
		end = 1<<63 - 1
	}
	rows, err := conn.Query(ctx, `SELECT time_unix_nano, type, source, data FROM events FINAL
		WHERE incident_id = ?
		   OR (type IN ('dev.medic.change.recorded.v1', 'dev.medic.anomaly.detected.v1', 'dev.medic.anomaly.resolved.v1')
		       AND model = ? AND time_unix_nano BETWEEN ? AND ?)
		ORDER BY time_unix_nano
		LIMIT 1 BY id`, in.ID, in.Model, in.Detected-60e9, end+1e9)
	if err != nil {
		return nil, fmt.Errorf("timeline of %s: %w", in.ID, err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		if err := rows.Scan(&e.TimeUnixNano, &e.Type, &e.Source, &e.Data); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
