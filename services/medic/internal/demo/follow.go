package demo

import (
	"context"
	"fmt"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/medic-sre/medic/pkg/events"
)

// follow prints the pipeline's events as they happen, until the first
// incident opened after the fault resolves and its notification is sent.
func follow(ctx context.Context, evs <-chan cloudevents.Event, res *Result, o Options) error {
	timeout := time.NewTimer(o.Timeout)
	defer timeout.Stop()
	var grace <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timeout.C:
			fmt.Fprintf(o.Out, "medic: the incident did not resolve within %s\n", o.Timeout)
			return nil
		case <-grace:
			return nil
		case ev := <-evs:
			if line := describe(ev, res); line != "" {
				fmt.Fprintf(o.Out, "  +%6.1fs  %s\n", ev.Time().Sub(res.FaultAt).Seconds(), line)
			}
			if res.Resolved && res.Notifications >= 2 {
				return nil
			}
			if res.Resolved && grace == nil {
				grace = time.After(10 * time.Second) // the resolved notification may lag
			}
		}
	}
}

// describe records what ev means for the scenario and renders it.
func describe(ev cloudevents.Event, res *Result) string {
	switch ev.Type() {
	case events.TypeChangeRecorded:
		c, _ := events.As[events.ChangeRecorded](ev)
		return fmt.Sprintf("change recorded         %s %s: %s@%s (was %s) by %s", c.Kind, c.Service, c.Model, c.ModelVersion, c.PreviousVersion, c.Actor)
	case events.TypeAnomalyDetected:
		a, _ := events.As[events.AnomalyDetected](ev)
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
	case events.TypeRCACompleted:
		r, _ := events.As[events.RCACompleted](ev)
		if r.IncidentID != res.IncidentID || len(r.Causes) == 0 {
			return fmt.Sprintf("rca completed           %s: no cause found", short(r.IncidentID))
		}
		res.TopCause = &r.Causes[0]
		return fmt.Sprintf("root cause #1           %s (score %.2f) %s", r.Causes[0].ID, r.Causes[0].Score, r.Causes[0].Summary)
	case events.TypeRemediationStarted:
		r, _ := events.As[events.RemediationStarted](ev)
		return fmt.Sprintf("remediation started     runbook %s", r.Runbook)
	case events.TypeRemediationSucceeded:
		r, _ := events.As[events.RemediationSucceeded](ev)
		res.RemediationOutcome = "succeeded"
		return fmt.Sprintf("remediation succeeded   runbook %s, %d step(s) verified", r.Runbook, len(r.Steps))
	case events.TypeRemediationFailed:
		r, _ := events.As[events.RemediationFailed](ev)
		res.RemediationOutcome = "failed"
		return fmt.Sprintf("remediation FAILED      runbook %s: %s", r.Runbook, r.Error)
	case events.TypeIncidentAcknowledged, events.TypeIncidentMitigated:
		t, _ := events.As[events.IncidentAcknowledged](retype(ev))
		return fmt.Sprintf("incident %-14s %s", ev.Type()[len("dev.medic.incident."):len(ev.Type())-3], short(t.IncidentID))
	case events.TypeIncidentResolved:
		t, _ := events.As[events.IncidentResolved](ev)
		if t.IncidentID == res.IncidentID {
			res.Resolved = true
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

// retype lets the shared transition shape be read from either type.
func retype(ev cloudevents.Event) cloudevents.Event {
	c := ev.Clone()
	c.SetType(events.TypeIncidentAcknowledged)
	return c
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
