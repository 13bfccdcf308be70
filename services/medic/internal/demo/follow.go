package demo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/medic-sre/medic/pkg/events"
)

// follow prints the pipeline's events as they happen until done says the
// scenario is over, or the timeout passes (which is not an error: the
// result shows what did not happen).
func follow(ctx context.Context, evs <-chan event, res *Result, o Options, done func(*Result) bool) error {
	timeout := time.NewTimer(o.Timeout)
	defer timeout.Stop()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	// The demo listens on core NATS, which also delivers a re-publish that
	// JetStream dropped as a duplicate; each event counts once.
	seen := map[string]bool{}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timeout.C:
			fmt.Fprintf(o.Out, "medic: the scenario did not finish within %s\n", o.Timeout)
			res.TimedOut = true
			return nil
		case <-tick.C:
		case ev := <-evs:
			if seen[ev.Meta.ID] {
				continue
			}
			seen[ev.Meta.ID] = true
			if line := describe(ev.Data, res); line != "" {
				fmt.Fprintf(o.Out, "  +%6.1fs  %s\n", ev.Meta.Time.Sub(res.FaultAt).Seconds(), line)
			}
		}
		if done(res) {
			return nil
		}
	}
}

// recovered ends the demo: its incident resolved and both notifications
// (opened, resolved) were sent, or 10 s passed since it resolved, since the
// resolved notification may lag.
func recovered(res *Result) bool {
	return res.Resolved && (res.Notifications >= 2 || time.Since(res.ResolvedSeenAt) > 10*time.Second)
}

// event is one of Medic's events as the demo sees it: metadata, and data
// as its type's Go value.
type event = events.Item[events.Data]

// describe records what an event's data means for the scenario and
// renders it.
func describe(d events.Data, res *Result) string {
	switch d := d.(type) {
	case events.ChangeRecorded:
		return fmt.Sprintf("change recorded         %s %s: %s@%s (was %s) by %s", d.Kind, d.Service, d.Model, d.ModelVersion, d.PreviousVersion, d.Actor)
	case events.AnomalyDetected:
		if res.Anomalies == nil {
			res.Anomalies = map[string]events.AnomalyDetected{}
		}
		res.Anomalies[d.AnomalyID] = d
		return fmt.Sprintf("anomaly detected        %s on %s (%.3g vs threshold %.3g)", d.Rule, d.Service, d.Value, d.Threshold)
	case events.AnomalyResolved:
		return fmt.Sprintf("anomaly resolved        %s on %s", d.Rule, d.Service)
	case events.IncidentOpened:
		res.Triggers = append(res.Triggers, Trigger{Kind: events.TriggerOpened, IncidentID: d.IncidentID})
		res.IncidentsOpened = append(res.IncidentsOpened, d.IncidentID)
		if res.IncidentID == "" {
			res.IncidentID = d.IncidentID
		}
		return fmt.Sprintf("incident opened         %s %q (%s)", short(d.IncidentID), d.Title, d.Severity)
	case events.IncidentUpdated:
		res.Triggers = append(res.Triggers, Trigger{Kind: events.TriggerUpdated, IncidentID: d.IncidentID, AnomalyIDs: d.AddedAnomalyIDs})
		return fmt.Sprintf("incident updated        %s: %d anomaly(ies) joined, analysing again", short(d.IncidentID), len(d.AddedAnomalyIDs))
	case events.RCACompleted:
		return analysed(d, res)
	case events.RemediationStarted:
		res.Remediations = append(res.Remediations, d.Remediation)
		return fmt.Sprintf("remediation started     runbook %s on %s", d.Runbook, d.CauseID)
	case events.RemediationSucceeded:
		res.RemediationOutcome = "succeeded"
		res.Outcomes = append(res.Outcomes, outcome{d.Remediation, "succeeded"})
		return fmt.Sprintf("remediation succeeded   runbook %s, %d step(s) verified", d.Runbook, len(d.Steps))
	case events.RemediationFailed:
		if res.RemediationOutcome != "succeeded" {
			res.RemediationOutcome = "failed"
		}
		res.Outcomes = append(res.Outcomes, outcome{d.Remediation, "failed"})
		return fmt.Sprintf("remediation FAILED      runbook %s: %s", d.Runbook, d.Error)
	case events.RemediationEscalated:
		res.Escalations = append(res.Escalations, d)
		return fmt.Sprintf("escalated to people     %s: %s", d.Reason, d.Detail)
	case events.IncidentTransition:
		return transitioned(d, res)
	case events.NotificationSent:
		if d.IncidentID == res.IncidentID {
			res.Notifications++
		}
		return fmt.Sprintf("notification sent       %s about %s (HTTP %d)", d.Receiver, d.About, d.StatusCode)
	}
	return ""
}

// analysed records an analysis and renders its top cause.
func analysed(r events.RCACompleted, res *Result) string {
	res.Analyses = append(res.Analyses, r)
	if len(r.Causes) == 0 {
		return fmt.Sprintf("rca completed           %s: no cause found (%s)", short(r.IncidentID), baselineNote(r))
	}
	if r.IncidentID == res.IncidentID && res.TopCause == nil {
		res.TopCause = &r.Causes[0]
	}
	tie := ""
	if r.Tie {
		tie = ", TIED"
	}
	return fmt.Sprintf("root cause #1           %s (score %.2f, confidence %.2f%s; %s) %s", r.Causes[0].ID, r.Causes[0].Score, r.Confidence, tie, baselineNote(r), r.Causes[0].Summary)
}

// transitioned records an incident's resolution and renders a transition.
func transitioned(t events.IncidentTransition, res *Result) string {
	if t.Status != events.StatusResolved {
		return fmt.Sprintf("incident %-14s %s%s", t.Status, short(t.IncidentID), stillFiring(t.Firing))
	}
	res.ResolvedIncidents = append(res.ResolvedIncidents, t.IncidentID)
	if t.IncidentID == res.IncidentID && !res.Resolved {
		res.Resolved, res.ResolvedSeenAt = true, time.Now()
	}
	return fmt.Sprintf("incident resolved       %s", short(t.IncidentID))
}

func baselineNote(r events.RCACompleted) string {
	if !r.Baseline.Sufficient {
		return "baseline too thin: " + r.Baseline.Detail
	}
	return fmt.Sprintf("baseline %.0fs", r.Baseline.Seconds)
}

func stillFiring(firing []events.AnomalyRef) string {
	if len(firing) == 0 {
		return ""
	}
	names := make([]string, len(firing))
	for i, a := range firing {
		names[i] = a.Rule + " on " + a.Service
	}
	return "; still firing: " + strings.Join(names, ", ")
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
