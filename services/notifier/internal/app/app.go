// Package app wires the notifier: a durable consumer of incident and
// remediation events, a KV ledger of delivered notifications, a KV memory
// of each incident's anomalies, and the webhook receiver.
package app

import (
	"context"
	"net"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/services/notifier/internal/notify"
	"github.com/medic-sre/medic/services/notifier/internal/notify/webhook"
)

// Run runs the notifier until ctx ends.
func Run(ctx context.Context, o Options) error { return RunWithListener(ctx, o, nil) }

// RunWithListener is Run on a given HTTP listener (tests pass port 0).
func RunWithListener(ctx context.Context, o Options, ln net.Listener) error {
	if o.Service.Name == "" {
		o.Service.Name = Name
	}
	if err := o.Validate(); err != nil {
		return err
	}
	// The notifier needs NATS alone (its Options never set
	// NeedsClickHouse): people are told during a ClickHouse outage.
	// The receiver is checked before anything dials, so a missing URL stops
	// the service at once.
	recv, err := webhook.New(o.Webhook)
	if err != nil {
		return err
	}
	return service.RunWithListener(ctx, o.Service, ln, func(ctx context.Context, rt *service.Runtime) error {
		ledger, err := notify.OpenKVLedger(ctx, rt.Bus.JetStream())
		if err != nil {
			return err
		}
		memory, err := notify.OpenKVMemory(ctx, rt.Bus.JetStream())
		if err != nil {
			return err
		}
		n := &notify.Notifier{Receiver: recv, Ledger: ledger, Memory: memory, Bus: rt.Bus, Log: rt.Log}
		rt.Log.Info("notifying", "receiver", recv.Name(), "signed", o.Webhook.Secret != "")
		return rt.Consume(ctx, bus.ConsumerSpec{
			Stream:  bus.StreamEvents,
			Durable: "notifier",
			// Notifying needs NATS (its ledger is KV) and the receiver,
			// never ClickHouse: people are told during a ClickHouse outage.
			NATSOnly: true,
			FilterSubjects: []string{
				events.Subject(events.TypeIncidentOpened),
				events.Subject(events.TypeIncidentUpdated),
				events.Subject(events.TypeIncidentMitigated),
				events.Subject(events.TypeIncidentResolved),
				events.Subject(events.TypeRemediationFailed),
				events.Subject(events.TypeRemediationEscalated),
			},
			RetryBase: o.RetryBase,
		}, bus.On(n.Opened), bus.On(n.Updated), bus.On(n.Transition), bus.On(n.RemediationFailed), bus.On(n.Escalated))
	})
}
