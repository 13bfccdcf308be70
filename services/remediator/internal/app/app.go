// Package app wires the remediator: runbooks, actions and the recovery
// check, behind a durable consumer of rca.completed.
package app

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/services/remediator/internal/action"
	"github.com/medic-sre/medic/services/remediator/internal/gate"
	"github.com/medic-sre/medic/services/remediator/internal/incident"
	"github.com/medic-sre/medic/services/remediator/internal/remediate"
	"github.com/medic-sre/medic/services/remediator/internal/runbook"
	"github.com/medic-sre/medic/services/remediator/internal/verify"
)

// IncidentsDurable is the consumer that builds the incident view.
const IncidentsDurable = "remediator-incidents"

// AckWait is how long the bus waits for an ack before redelivering. A
// remediation runs for a minute or more, but the bus sends a progress
// signal every third of AckWait while the handler runs, so a live run keeps
// its message; a short AckWait brings the message of a remediator that
// died to another within seconds, when the execution's lease
// (remediate.DefaultLeaseTTL) has run out too.
const AckWait = 10 * time.Second

// RetryMax is the longest redelivery delay, which paces a delivery waiting
// for a running execution to finish or pass its deadline.
const RetryMax = 15 * time.Second

// maxDeliver lets a delivery wait out the longest wait (for its incident,
// for the incident to persist, for a running execution) before it is
// dead-lettered: the bus's usual eight tries, six more while the backoff
// grows to RetryMax, then one per RetryMax.
func maxDeliver(wait time.Duration) int {
	return 8 + 6 + int(wait/RetryMax) + 1
}

// Run runs the remediator until ctx ends.
func Run(ctx context.Context, o Options) error { return RunWithListener(ctx, o, nil) }

// RunWithListener is Run on a given HTTP listener (tests pass port 0).
func RunWithListener(ctx context.Context, o Options, ln net.Listener) error {
	if o.Service.Name == "" {
		o.Service.Name = Name
	}
	// The recovery check queries ClickHouse.
	o.Service.NeedsClickHouse = true
	if o.ActionTimeout <= 0 {
		o.ActionTimeout = 10 * time.Second
	}
	if o.VerifyInterval <= 0 {
		o.VerifyInterval = time.Second
	}
	if err := o.Validate(); err != nil {
		return err
	}
	client := action.NewClient(o.ActionTimeout)
	actions := action.Default(o.ServingURL, client)
	// Runbooks load before anything dials, so a bad file stops the service
	// at once with its file:line.
	books, err := runbook.Load(o.RunbooksFile, actions)
	if err != nil {
		return err
	}
	return service.RunWithListener(ctx, o.Service, ln, func(ctx context.Context, rt *service.Runtime) error {
		view, err := incident.Open(ctx, rt.Bus.JetStream())
		if err != nil {
			return fmt.Errorf("%w (check that NATS has JetStream enabled)", err)
		}
		x := &remediate.Executor{Runbooks: books, Actions: actions, Bus: rt.Bus, Log: rt.Log, DryRun: o.DryRun,
			Verifier:    &verify.Verifier{Conn: rt.Store.Conn(), Interval: o.VerifyInterval},
			StepTimeout: client.MaxDuration(), Incidents: view, IncidentWait: o.IncidentWait,
			Gate: gate.Thresholds{MinConfidence: o.MinConfidence, MinMargin: o.MinMargin}}
		if err := x.Open(ctx, rt.Bus.JetStream()); err != nil {
			return fmt.Errorf("%w (check that NATS has JetStream enabled)", err)
		}
		rt.Log.Info("runbooks loaded", "count", len(books.Runbooks), "file", o.RunbooksFile, "dry_run", o.DryRun,
			"min_confidence", o.MinConfidence, "min_margin", o.MinMargin)
		// The incident view lives in KV: it keeps up while ClickHouse is down.
		if err := rt.Consume(ctx, bus.ConsumerSpec{Stream: bus.StreamEvents, Durable: IncidentsDurable,
			FilterSubjects: subjects(incident.Types), NATSOnly: true},
			bus.On(view.Opened), bus.On(view.Updated), bus.On(view.Transition)); err != nil {
			return err
		}
		return rt.Consume(ctx, bus.ConsumerSpec{
			Stream:         bus.StreamEvents,
			Durable:        "remediator",
			FilterSubjects: []string{events.Subject(events.TypeRCACompleted)},
			AckWait:        AckWait,
			RetryMax:       RetryMax,
			MaxDeliver:     maxDeliver(x.MaxWait()),
			// A remediation runs for a minute or more: none may start from
			// a buffer while a shutdown drains the consumer.
			Prefetch: 1,
		}, bus.On(x.Handle))
	})
}

func subjects(types []string) []string {
	out := make([]string, len(types))
	for i, t := range types {
		out[i] = events.Subject(t)
	}
	return out
}
