// Package demo runs Medic's end-to-end scenario on a running stack: let the
// simulator serve a baseline, deploy a bad model version, follow the
// incident on the bus until it resolves, then read its timeline, MTTD and
// MTTR back from ClickHouse with SQL.
package demo

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/medic/internal/history"
	"github.com/medic-sre/medic/services/medic/internal/stack"
	"github.com/nats-io/nats.go"
)

// DefaultBaseline is the healthy traffic `medic demo` collects before the
// fault: enough for the root-cause analyzer to call its baseline sufficient.
// Its baseline ends --window-lead (15 s) before the symptom and must hold
// --min-baseline (30 s) of data; 5 s more absorb the first points' delay.
const DefaultBaseline = 50 * time.Second

// Options tune the scenario.
type Options struct {
	// Baseline is how much healthy traffic ClickHouse must hold before the
	// fault, so that root-cause analysis has something to compare with.
	Baseline time.Duration
	// Timeout bounds the wait for the incident to resolve.
	Timeout time.Duration
	Out     io.Writer
}

// Fault is one injection of a scenario: a fault kind of the simulator,
// injected After the first one, for Duration (0: until cleared).
type Fault struct {
	Kind     string
	After    time.Duration
	Duration time.Duration
}

// outcome is a remediation's end.
type outcome struct {
	events.Remediation
	Outcome string
}

// Result is what the scenario observed.
type Result struct {
	FaultAt            time.Time
	IncidentsOpened    []string
	IncidentID         string
	Incident           history.Incident
	Durations          history.Durations
	TopCause           *events.Cause
	RemediationOutcome string
	Resolved           bool
	ResolvedSeenAt     time.Time
	ResolvedIncidents  []string
	Notifications      int
	ErrorRateAfter     float64
	TimedOut           bool
	// Every anomaly by id, and every analysis trigger, analysis,
	// remediation and escalation seen, in order.
	Anomalies    map[string]events.AnomalyDetected
	Triggers     []Trigger
	Analyses     []events.RCACompleted
	Remediations []events.Remediation
	Outcomes     []outcome
	Escalations  []events.RemediationEscalated
}

// Run plays the demo: a bad model version is deployed, and Medic must roll
// it back. It returns an error when the stack misbehaves; an incident that
// did not recover shows in Result.
func Run(ctx context.Context, st *stack.Stack, conn driver.Conn, o Options) (Result, error) {
	var res Result
	err := watch(ctx, st, conn, o, func(evs <-chan event, ctl control) error {
		if err := ctl.injectFault(ctx, Fault{Kind: "bad_model_version"}); err != nil {
			return err
		}
		res.FaultAt = time.Now()
		fmt.Fprintf(o.Out, "medic: injected fault: a bad model version (fraud v2) is deployed at %s\n\n", res.FaultAt.Format("15:04:05.000"))
		return follow(ctx, evs, &res, o, recovered)
	})
	if err != nil || res.IncidentID == "" {
		return res, err
	}
	if err := report(ctx, conn, &res, o.Out); err != nil {
		return res, err
	}
	if rate, err := (control{base: st.ControlURL}).errorRate(ctx, 5*time.Second); err == nil {
		res.ErrorRateAfter = rate
		fmt.Fprintf(o.Out, "simulator error rate over the last 5s: %.2f%%\n", rate*100)
	}
	return res, nil
}

// Play injects a scenario's faults, follows the pipeline until every
// analysis has been acted on or escalated and (once the faults are
// cleared, as a person would after a page) every incident resolved, and
// returns what happened. quiet is how long a scenario that opened no
// incident is watched after its last fault ended.
func Play(ctx context.Context, st *stack.Stack, conn driver.Conn, o Options, faults []Fault, quiet time.Duration) (Result, error) {
	var res Result
	err := watch(ctx, st, conn, o, func(evs <-chan event, ctl control) error {
		res.FaultAt = time.Now()
		lastEnd, err := injectAll(ctx, ctl, faults, o)
		if err != nil {
			return err
		}
		settled := func(r *Result) bool {
			if len(r.IncidentsOpened) == 0 {
				return time.Since(lastEnd) > quiet
			}
			return decided(r)
		}
		if err := follow(ctx, evs, &res, o, settled); err != nil || res.TimedOut {
			return err
		}
		fmt.Fprintf(o.Out, "medic: every analysis was acted on or escalated; clearing the faults as a responder would\n")
		if err := ctl.clearFaults(ctx, faults); err != nil {
			return err
		}
		return follow(ctx, evs, &res, o, allResolved)
	})
	return res, err
}

// injectAll injects the faults at their offsets and returns when the last
// one ends (now, for faults that last until cleared).
func injectAll(ctx context.Context, ctl control, faults []Fault, o Options) (time.Time, error) {
	start := time.Now()
	lastEnd := start
	for _, f := range faults {
		select {
		case <-ctx.Done():
			return lastEnd, ctx.Err()
		case <-time.After(time.Until(start.Add(f.After))):
		}
		if err := ctl.injectFault(ctx, f); err != nil {
			return lastEnd, err
		}
		end := time.Now().Add(f.Duration)
		if end.After(lastEnd) {
			lastEnd = end
		}
		fmt.Fprintf(o.Out, "medic: injected fault %s at +%.1fs (for %s)\n", f.Kind, time.Since(start).Seconds(), orUntilCleared(f.Duration))
	}
	return lastEnd, nil
}

func orUntilCleared(d time.Duration) string {
	if d == 0 {
		return "until cleared"
	}
	return d.String()
}

// decided reports whether every analysis so far led to an action that
// ended, an escalation, or belongs to an incident that already resolved.
func decided(r *Result) bool {
	if len(r.Analyses) == 0 {
		return allResolved(r)
	}
	// An incident opened or updated asks for an analysis each: a responder
	// waits for the one still running before calling it decided.
	for _, tr := range r.Triggers {
		if !slices.ContainsFunc(r.Analyses, tr.answeredBy) && !slices.Contains(r.ResolvedIncidents, tr.IncidentID) {
			return false
		}
	}
	for _, a := range r.Analyses {
		if !analysisDecided(r, a) {
			return false
		}
	}
	return true
}

// Trigger is an event that asks the rca for an analysis: an incident
// opened, or anomalies that joined it.
type Trigger struct {
	Kind, IncidentID string
	AnomalyIDs       []string
}

// answeredBy reports whether a is the analysis tr asked for.
func (tr Trigger) answeredBy(a events.RCACompleted) bool {
	if a.IncidentID != tr.IncidentID || a.Trigger != tr.Kind {
		return false
	}
	return tr.Kind == events.TriggerOpened || slices.ContainsFunc(tr.AnomalyIDs, func(id string) bool { return slices.Contains(a.AnomalyIDs, id) })
}

func analysisDecided(r *Result, a events.RCACompleted) bool {
	if slices.Contains(r.ResolvedIncidents, a.IncidentID) {
		return true
	}
	for _, e := range r.Escalations {
		if e.AnalysisID == a.AnalysisID {
			return true
		}
	}
	if len(a.Causes) == 0 {
		return false
	}
	for _, o := range r.Outcomes {
		if o.IncidentID == a.IncidentID && o.CauseID == a.Causes[0].ID {
			return true
		}
	}
	return false
}

// allResolved reports whether every incident opened has resolved.
func allResolved(r *Result) bool {
	for _, id := range r.IncidentsOpened {
		if !slices.Contains(r.ResolvedIncidents, id) {
			return false
		}
	}
	return true
}

// watch subscribes to Medic's events, waits for the baseline and runs fn
// with the events and the simulator's control API.
func watch(ctx context.Context, st *stack.Stack, conn driver.Conn, o Options, fn func(<-chan event, control) error) error {
	nc, err := st.ConnectNATS()
	if err != nil {
		return err
	}
	defer nc.Close()
	evs := make(chan event, 4096)
	sub, err := nc.Subscribe("medic.events.>", func(m *nats.Msg) {
		if ev, err := events.Parse(m.Data); err == nil {
			evs <- ev
		}
	})
	if err != nil {
		return err
	}
	// nc.Close, deferred above, drops the subscription anyway.
	defer func() { _ = sub.Unsubscribe() }()
	if err := waitBaseline(ctx, conn, o); err != nil {
		return err
	}
	return fn(evs, control{base: st.ControlURL})
}

// waitBaseline waits until ClickHouse holds Baseline worth of the
// simulator's model-server telemetry.
func waitBaseline(ctx context.Context, conn driver.Conn, o Options) error {
	fmt.Fprintf(o.Out, "medic: collecting %s of healthy baseline traffic...\n", o.Baseline)
	deadline := time.Now().Add(o.Baseline + 60*time.Second)
	last := time.Time{}
	for {
		var span float64
		err := conn.QueryRow(ctx, `SELECT (max(time_unix_nano) - min(time_unix_nano)) / 1e9 FROM metrics
			WHERE name = 'predictions_rate' AND time >= now() - ?`, int64(o.Baseline.Seconds())+30).Scan(&span)
		if err == nil && span >= o.Baseline.Seconds() {
			return nil
		}
		if time.Since(last) > 5*time.Second {
			fmt.Fprintf(o.Out, "medic:   %.0fs of %.0fs\n", span, o.Baseline.Seconds())
			last = time.Now()
		}
		if time.Now().After(deadline) {
			// err is nil when the query worked but the span was short, which
			// %w would print as %!w(<nil>).
			return fmt.Errorf("no telemetry reached ClickHouse within %s (last error: %v); check the simulator and archiver logs", o.Baseline+60*time.Second, err) //nolint:errorlint // err may be nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
