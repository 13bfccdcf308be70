package incident

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/kv"
	"github.com/nats-io/nats.go/jetstream"
)

// Bucket is the JetStream KV bucket of the view, one key per incident.
const Bucket = "medic_remediator_incidents"

// bucketTTL outlives the events stream's retention, like the execution
// guard's.
const bucketTTL = 30 * 24 * time.Hour

// applyAttempts bounds Apply's reads after a lost race; past them the bus
// retries the event.
const applyAttempts = 5

// Types lists the incident events the view is built from.
var Types = []string{events.TypeIncidentOpened, events.TypeIncidentUpdated,
	events.TypeIncidentAcknowledged, events.TypeIncidentMitigated, events.TypeIncidentResolved}

// View is the KV-backed view of incidents.
type View struct {
	store *kv.Store[Record]
}

// Open creates the bucket when missing.
func Open(ctx context.Context, js jetstream.JetStream) (*View, error) {
	store, err := kv.Open[Record](ctx, kv.JetStream(js),
		kv.Config{Bucket: Bucket, Description: "the remediator's view of incidents, from incident events", TTL: bucketTTL})
	if err != nil {
		return nil, err
	}
	return &View{store: store}, nil
}

// Get returns the incident's record; found is false when the view has none.
func (v *View) Get(ctx context.Context, id string) (r Record, found bool, err error) {
	e, err := v.store.Get(ctx, id)
	switch {
	case errors.Is(err, kv.ErrNotFound):
		return Record{}, false, nil
	case err != nil:
		return Record{}, false, fmt.Errorf("read incident %s: %w", id, err)
	}
	return e.Value, true, nil
}

// Opened merges incident.opened into the view.
func (v *View) Opened(ctx context.Context, _ events.Meta, d events.IncidentOpened) error {
	return v.Apply(ctx, d.IncidentID, func(r Record) Record { return Opened(r, d) })
}

// Updated merges incident.updated into the view.
func (v *View) Updated(ctx context.Context, _ events.Meta, d events.IncidentUpdated) error {
	return v.Apply(ctx, d.IncidentID, func(r Record) Record { return Updated(r, d) })
}

// Transition merges incident.acknowledged, mitigated or resolved into the
// view; the transition's status is the record's (see Transitioned).
func (v *View) Transition(ctx context.Context, _ events.Meta, d events.IncidentTransition) error {
	return v.Apply(ctx, d.IncidentID, func(r Record) Record { return Transitioned(r, d.Status, d) })
}

// Apply merges into the incident's record with compare-and-set, so that
// two replicas writing at once lose nothing; a lost race is read again.
func (v *View) Apply(ctx context.Context, id string, merge func(Record) Record) error {
	_, err := v.store.Modify(ctx, id, applyAttempts, func(cur Record, found bool) (Record, bool) {
		next := merge(cur)
		return next, !found || !reflect.DeepEqual(next, cur)
	})
	if err != nil {
		return fmt.Errorf("record incident %s: %w", id, err)
	}
	return nil
}
