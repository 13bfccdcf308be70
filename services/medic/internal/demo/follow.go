package demo

import (
	"context"
	"fmt"
	"strings"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/medic-sre/medic/pkg/events"
)

// follow prints the pipeline's events as they happen until done says the
// scenario is over, or the timeout passes (which is not an error: the
// result shows what did not happen).
func follow(ctx context.Context, evs <-chan cloudevents.Event, res *Result, o Options, done func(*Result) bool) error {
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
			if seen[ev.ID()] {
				continue
			}
			seen[ev.ID()] = true
			if line := describe(ev, res); line != "" {
				fmt.Fprintf(o.Out, "  +%6.1fs  %s\n", ev.Time().Sub(res.FaultAt).Seconds(), line)
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

// describe records what ev means for the scenario and renders it.
func describe(ev cloudevents.Event, res *Result) string {
	switch ev.Type() {
	case events.TypeChangeRecorded:
		c, _ := events.As[events.ChangeRecorded](ev)
		return fmt.Sprintf("change recorded         %s %s: %s@%s (was %s) by %s", c.Kind, c.Service, c.Model, c.ModelVersion, c.PreviousVersion, c.Actor)
	case events.TypeAnomalyDetected:
		a, _ := events.As[events.AnomalyDetected](ev)
		if res.Anomalies == nil {
			res.Anomalies = map[string]events.AnomalyDetected{}
		}
		res.Anomalies[a.AnomalyID] = a
		return fmt.Sprintf("anomaly detected        %s on %s (%.3g vs threshold %.3g)", a.Rule, a.Service, a.Value, a.Threshold)
	case events.TypeAnomalyResolved:
		a, _ := events.As[events.AnomalyResolved](ev)
		return fmt.Sprintf("anomaly resolved        %s on %s", a.Rule, a.Service)
	case events.TypeIncidentOpened:
		in, _ := events.As[events.IncidentOpened](ev)
		res.IncidentsOpened = append(res.IncidentsOpened, in.IncidentID)
		if res.IncidentID == "" {
			res.IncidentID = in.IncidentID
		}
		return fmt.Sprintf("incident opened         %s %q (%s)", short(in.IncidentID), in.Title, in.Severity)
	case events.TypeIncidentUpdated:
		in, _ := events.As[events.IncidentUpdated](ev)
		return fmt.Sprintf("incident updated        %s: %d anomaly(ies) joined, analysing again", short(in.IncidentID), len(in.AddedAnomalyIDs))
	case events.TypeRCACompleted:
		r, _ := events.As[events.RCACompleted](ev)
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
	case events.TypeRemediationStarted:
		r, _ := events.As[events.RemediationStarted](ev)
		res.Remediations = append(res.Remediations, r.Remediation)
		return fmt.Sprintf("remediation started     runbook %s on %s", r.Runbook, r.CauseID)
	case events.TypeRemediationSucceeded:
		r, _ := events.As[events.RemediationSucceeded](ev)
		res.RemediationOutcome = "succeeded"
		res.Outcomes = append(res.Outcomes, outcome{r.Remediation, "succeeded"})
		return fmt.Sprintf("remediation succeeded   runbook %s, %d step(s) verified", r.Runbook, len(r.Steps))
	case events.TypeRemediationFailed:
		r, _ := events.As[events.RemediationFailed](ev)
		if res.RemediationOutcome != "succeeded" {
			res.RemediationOutcome = "failed"
		}
		res.Outcomes = append(res.Outcomes, outcome{r.Remediation, "failed"})
		return fmt.Sprintf("remediation FAILED      runbook %s: %s", r.Runbook, r.Error)
	case events.TypeRemediationEscalated:
		e, _ := events.As[events.RemediationEscalated](ev)
		res.Escalations = append(res.Escalations, e)
		return fmt.Sprintf("escalated to people     %s: %s", e.Reason, e.Detail)
	case events.TypeIncidentAcknowledged, events.TypeIncidentMitigated:
		t, _ := events.As[events.IncidentTransition](ev)
		return fmt.Sprintf("incident %-14s %s%s", t.Status, short(t.IncidentID), stillFiring(t.Firing))
	case events.TypeIncidentResolved:
		t, _ := events.As[events.IncidentTransition](ev)
		res.ResolvedIncidents = append(res.ResolvedIncidents, t.IncidentID)
		if t.IncidentID == res.IncidentID && !res.Resolved {
			res.Resolved, res.ResolvedSeenAt = true, time.Now()
		}
		return fmt.Sprintf("incident resolved       %s", short(t.IncidentID))
	case events.TypeNotificationSent:
		n, _ := events.As[events.NotificationSent](ev)
		if n.IncidentID == res.IncidentID {
			res.Notifications++
		}
		return fmt.Sprintf("notification sent       %s about %s (HTTP %d)", n.Receiver, n.About, n.StatusCode)
	}
	return ""
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
