package incident

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/medic-sre/medic/pkg/bus"
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

// Handle merges one incident event into the view.
func (v *View) Handle(ctx context.Context, ev cloudevents.Event) error {
	id, merge, err := decode(ev)
	if err != nil {
		return bus.Permanent(err)
	}
	return v.Apply(ctx, id, merge)
}

// decode turns an incident event into its incident id and merge.
func decode(ev cloudevents.Event) (string, func(Record) Record, error) {
	switch ev.Type() {
	case events.TypeIncidentOpened:
		d, err := events.As[events.IncidentOpened](ev)
		return d.IncidentID, func(r Record) Record { return Opened(r, d) }, err
	case events.TypeIncidentUpdated:
		d, err := events.As[events.IncidentUpdated](ev)
		return d.IncidentID, func(r Record) Record { return Updated(r, d) }, err
	case events.TypeIncidentAcknowledged:
		d, err := events.As[events.IncidentAcknowledged](ev)
		return d.IncidentID, func(r Record) Record { return Transitioned(r, StatusAcknowledged, d.IncidentTransition) }, err
	case events.TypeIncidentMitigated:
		d, err := events.As[events.IncidentMitigated](ev)
		return d.IncidentID, func(r Record) Record { return Transitioned(r, StatusMitigated, d.IncidentTransition) }, err
	case events.TypeIncidentResolved:
		d, err := events.As[events.IncidentResolved](ev)
		return d.IncidentID, func(r Record) Record { return Transitioned(r, StatusResolved, d.IncidentTransition) }, err
	}
	return "", nil, fmt.Errorf("%w: the incident view does not take %s", events.ErrInvalid, ev.Type())
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
