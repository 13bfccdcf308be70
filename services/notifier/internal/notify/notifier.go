package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/outcome"
	"github.com/medic-sre/medic/pkg/retry"
)

// Defaults of the ledger write retries.
const (
	DefaultMarkAttempts = 4
	DefaultMarkBackoff  = 200 * time.Millisecond
)

// maxUnrecorded bounds the deliveries kept in memory while the ledger
// cannot be written; past it a redelivery posts again, which receivers
// drop by Idempotency-Key.
const maxUnrecorded = 1000

// Emitter publishes an event with a given id (bus.Bus does).
type Emitter interface {
	Emit(ctx context.Context, id string, data events.Data) (events.Meta, error)
}

// Notifier handles incident and remediation events.
//
// Delivery is at least once, with an Idempotency-Key header equal to the
// notification id so that receivers drop repeats. Each handler checks the
// ledger, sends, then records the delivery: a crash between the send and
// the record posts again on redelivery. Once the delivery is recorded,
// redeliveries and restarts do not post again. A ledger write that fails
// after a 2xx is retried in the handler and then, from memory, on the next
// delivery to this process, without posting again.
type Notifier struct {
	Receiver Receiver
	Ledger   Ledger
	Bus      Emitter
	Log      *slog.Logger
	// Memory remembers each incident's anomalies so that mitigated and
	// resolved notifications list what cleared; nil: they do not.
	Memory Memory
	// MarkAttempts and MarkBackoff shape the ledger write retries; zero
	// values take the defaults.
	MarkAttempts int
	MarkBackoff  time.Duration

	mu         sync.Mutex
	unrecorded map[string]Record // sent, but not yet in the ledger
}

// Opened remembers an incident's anomalies, then notifies its opening.
func (n *Notifier) Opened(ctx context.Context, m events.Meta, in events.IncidentOpened) error {
	if err := n.remember(ctx, in); err != nil {
		return err
	}
	return n.notify(ctx, m, in)
}

// Updated only remembers the anomalies that joined an incident: it
// notifies nobody.
func (n *Notifier) Updated(ctx context.Context, _ events.Meta, up events.IncidentUpdated) error {
	return n.remember(ctx, up.IncidentOpened)
}

// Transition notifies an incident's mitigation or resolution, listing
// what cleared when the incident's anomalies are remembered.
func (n *Notifier) Transition(ctx context.Context, m events.Meta, t events.IncidentTransition) error {
	return n.notify(ctx, m, t)
}

// RemediationFailed notifies a failed remediation.
func (n *Notifier) RemediationFailed(ctx context.Context, m events.Meta, d events.RemediationFailed) error {
	return n.notify(ctx, m, d)
}

// Escalated notifies an incident the remediator left to people.
func (n *Notifier) Escalated(ctx context.Context, m events.Meta, d events.RemediationEscalated) error {
	return n.notify(ctx, m, d)
}

// notify delivers one notification per event: a delivery already in the
// ledger is not sent again, only its notification.sent is re-published
// (same id, which JetStream folds).
func (n *Notifier) notify(ctx context.Context, m events.Meta, d events.Data) error {
	known, err := n.known(ctx, d)
	if err != nil {
		return err
	}
	p, err := Build(d, known)
	if err != nil {
		return outcome.Permanent(err)
	}
	id := events.DerivedID("notification", m.ID)
	log := n.Log.With("incident", p.IncidentID, "notification", id, "about", p.About)
	rec, done, err := n.Ledger.Delivered(ctx, id)
	if err != nil {
		return err
	}
	if !done {
		if rec, err = n.deliver(ctx, log, id, p); err != nil {
			return err
		}
		log.Info("notification delivered", "receiver", rec.Receiver, "status", rec.StatusCode, "attempts", rec.Attempts)
	} else {
		log.Info("notification already delivered; not sending it again")
	}
	sent := events.NotificationSent{NotificationID: id, IncidentID: p.IncidentID, Receiver: rec.Receiver, About: m.Type,
		StatusCode: rec.StatusCode, Attempts: rec.Attempts, SentUnixNano: rec.SentUnixNano}
	_, err = n.Bus.Emit(ctx, id, sent)
	return err
}

// remember keeps the anomalies an incident.opened or incident.updated
// lists. It comes before the opened notification is sent, so that a
// mitigation handled while that send is being retried still knows them.
func (n *Notifier) remember(ctx context.Context, in events.IncidentOpened) error {
	if n.Memory == nil {
		return nil
	}
	return n.Memory.Remember(ctx, in.IncidentID, in.Anomalies)
}

// known returns the remembered anomalies of the incident a mitigation or
// resolution is about; nil for other events or when unknown.
func (n *Notifier) known(ctx context.Context, d events.Data) ([]events.AnomalyRef, error) {
	t, ok := d.(events.IncidentTransition)
	if n.Memory == nil || !ok || (t.Status != events.StatusMitigated && t.Status != events.StatusResolved) {
		return nil, nil
	}
	return n.Memory.Anomalies(ctx, t.IncidentID)
}

// deliver sends and records the notification; one this process sent but
// could not record is only recorded. A refusal is permanent; any other
// failure is retried later by the bus.
func (n *Notifier) deliver(ctx context.Context, log *slog.Logger, id string, p Payload) (Record, error) {
	rec, sent := n.takeUnrecorded(id)
	if sent {
		log.Info("notification was sent before but not recorded; recording it without sending again")
	} else {
		var err error
		if rec, err = n.send(ctx, id, p); err != nil {
			return Record{}, err
		}
	}
	if err := n.mark(ctx, id, rec); err != nil {
		n.keepUnrecorded(id, rec)
		return Record{}, err
	}
	return rec, nil
}

func (n *Notifier) send(ctx context.Context, id string, p Payload) (Record, error) {
	body, err := json.Marshal(p)
	if err != nil {
		return Record{}, outcome.Permanent(err)
	}
	d, err := n.Receiver.Send(ctx, Message{ID: id, Body: body})
	if errors.Is(err, ErrRejected) {
		return Record{}, outcome.Permanent(err)
	}
	if err != nil {
		return Record{}, fmt.Errorf("deliver %s to %s: %w", id, n.Receiver.Name(), err)
	}
	return Record{Receiver: n.Receiver.Name(), StatusCode: d.StatusCode, Attempts: d.Attempts, SentUnixNano: time.Now().UnixNano()}, nil
}

// mark records a delivery, retrying a few times: the receiver already has
// the notification, and an unrecorded delivery is posted again by the next
// process that gets the event.
func (n *Notifier) mark(ctx context.Context, id string, rec Record) error {
	p := retry.Policy{Attempts: max(n.MarkAttempts, 1), Initial: n.MarkBackoff}
	if n.MarkAttempts == 0 {
		p.Attempts = DefaultMarkAttempts
	}
	if p.Initial <= 0 {
		p.Initial = DefaultMarkBackoff
	}
	attempts, err := retry.Do(ctx, p, func(int) error { return n.Ledger.MarkDelivered(ctx, id, rec) }, nil)
	if err != nil {
		return fmt.Errorf("notification %s was delivered but not recorded after %d attempts: %w", id, attempts, err)
	}
	return nil
}

func (n *Notifier) takeUnrecorded(id string) (Record, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	rec, ok := n.unrecorded[id]
	delete(n.unrecorded, id)
	return rec, ok
}

func (n *Notifier) keepUnrecorded(id string, rec Record) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.unrecorded == nil {
		n.unrecorded = map[string]Record{}
	}
	if len(n.unrecorded) < maxUnrecorded {
		n.unrecorded[id] = rec
	}
}
