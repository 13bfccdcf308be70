package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
)

// Emitter publishes an event with a given id (bus.Bus does).
type Emitter interface {
	Emit(ctx context.Context, id string, data events.Data) (cloudevents.Event, error)
}

// Notifier handles incident events.
type Notifier struct {
	Receiver Receiver
	Ledger   Ledger
	Bus      Emitter
	Log      *slog.Logger
}

// Handle delivers one notification per event: a delivery already in the
// ledger is not sent again, only its notification.sent is re-published
// (same id, which JetStream folds).
func (n *Notifier) Handle(ctx context.Context, ev cloudevents.Event) error {
	p, err := Build(ev)
	if err != nil {
		return bus.Permanent(err)
	}
	id := events.DerivedID("notification", ev.ID())
	log := n.Log.With("incident", p.IncidentID, "notification", id, "about", p.About)
	rec, done, err := n.Ledger.Delivered(ctx, id)
	if err != nil {
		return err
	}
	if !done {
		if rec, err = n.deliver(ctx, id, p); err != nil {
			return err
		}
		log.Info("notification delivered", "receiver", rec.Receiver, "status", rec.StatusCode, "attempts", rec.Attempts)
	} else {
		log.Info("notification already delivered; not sending it again")
	}
	sent := events.NotificationSent{NotificationID: id, IncidentID: p.IncidentID, Receiver: rec.Receiver, About: ev.Type(),
		StatusCode: rec.StatusCode, Attempts: rec.Attempts, SentUnixNano: rec.SentUnixNano}
	_, err = n.Bus.Emit(ctx, id, sent)
	return err
}

// deliver sends and records the notification. A refusal is permanent; any
// other failure is retried later by the bus.
func (n *Notifier) deliver(ctx context.Context, id string, p Payload) (Record, error) {
	body, err := json.Marshal(p)
	if err != nil {
		return Record{}, bus.Permanent(err)
	}
	d, err := n.Receiver.Send(ctx, Message{ID: id, Body: body})
	if errors.Is(err, ErrRejected) {
		return Record{}, bus.Permanent(err)
	}
	if err != nil {
		return Record{}, fmt.Errorf("deliver %s to %s: %w", id, n.Receiver.Name(), err)
	}
	rec := Record{Receiver: n.Receiver.Name(), StatusCode: d.StatusCode, Attempts: d.Attempts, SentUnixNano: time.Now().UnixNano()}
	return rec, n.Ledger.MarkDelivered(ctx, id, rec)
}
