package demo

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/medic/internal/history"
)

// report reads the incident back from ClickHouse and prints its timeline
// and durations; what it prints is what SQL returns.
func report(ctx context.Context, conn driver.Conn, res *Result, out io.Writer) error {
	in, err := waitRow(ctx, conn, res.IncidentID, res.Resolved)
	if err != nil {
		return err
	}
	res.Incident = in
	if res.Durations, err = history.GetDurations(ctx, conn, in.ID); err != nil {
		return err
	}
	timeline, err := waitTimeline(ctx, conn, in)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nIncident %s, from ClickHouse (database events and incidents tables):\n", in.ID)
	fmt.Fprintf(out, "  title:        %s\n  status:       %s\n  root cause:   %s (%s)\n  remediation:  %s, %s\n",
		in.Title, in.Status, in.TopCause, in.TopCauseKind, in.Runbook, in.RemediationOutcome)
	origin := in.FaultStarted
	if origin == 0 {
		origin = in.Detected
	}
	fmt.Fprintln(out, "\n  timeline (seconds from fault start):")
	for _, e := range timeline {
		fmt.Fprintf(out, "  %+8.2fs  %-36s %s\n", float64(e.TimeUnixNano-origin)/1e9, e.Type, e.Source)
	}
	d := res.Durations
	fmt.Fprintf(out, "\n  MTTD %6.2fs   time to detect, from the bad deploy to the first anomaly\n", d.MTTD)
	fmt.Fprintf(out, "  MTTA %6.2fs   time to acknowledge, from detection to a successful action (or a person) taking it on\n", d.MTTA)
	fmt.Fprintf(out, "  TTM  %6.2fs   time to mitigate, from fault start to a verified remediation\n", d.TimeToMitigate)
	fmt.Fprintf(out, "  MTTR %6.2fs   time to recover, from fault start to every anomaly cleared\n", d.MTTR)
	fmt.Fprintf(out, "\n  (SQL: %s)\n\n", "medic sql \"SELECT * FROM incidents FINAL WHERE incident_id = '"+in.ID+"'\"")
	return nil
}

// waitRow reads the incident row, waiting briefly for the resolved version
// when the bus already said it resolved.
func waitRow(ctx context.Context, conn driver.Conn, id string, resolved bool) (history.Incident, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		in, err := history.Get(ctx, conn, id)
		if err == nil && (!resolved || in.Resolved > 0) {
			return in, nil
		}
		if time.Now().After(deadline) {
			// err is nil when the row is there but not yet resolved, which
			// %w would print as %!w(<nil>).
			return in, fmt.Errorf("incident row %s not in ClickHouse: %v", id, err) //nolint:errorlint // err may be nil
		}
		select {
		case <-ctx.Done():
			return in, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitTimeline reads the timeline, waiting briefly until the archive holds
// the incident's last transition (it is written in batches).
func waitTimeline(ctx context.Context, conn driver.Conn, in history.Incident) ([]history.Entry, error) {
	last := events.TypeIncidentOpened
	if in.Resolved > 0 {
		last = events.TypeIncidentResolved
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		entries, err := history.Timeline(ctx, conn, in)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if e.Type == last || time.Now().After(deadline) {
				return entries, nil
			}
		}
		if time.Now().After(deadline) {
			return entries, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
