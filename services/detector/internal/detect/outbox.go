package detect

import (
	"context"
	"fmt"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/outcome"
	"github.com/medic-sre/medic/services/detector/internal/engine"
	"github.com/medic-sre/medic/services/detector/internal/firing"
)

// Restore takes the records of the previous detector, before any
// telemetry. An alert recorded but maybe never announced is announced again
// under its original event id, and a resolution recorded but maybe never
// published is published again; ids are derived, so what the previous
// detector did publish is dropped by JetStream as a duplicate. The alerts go
// back into the engine as firing, which resolves them under their original
// ids once their condition no longer holds (at once for an alert no rule can
// hold any more). That includes an alert whose resolution is replayed: the
// batch that resolved it comes again, and its points must resolve that
// alert again rather than fire a new one from a later start. What Restore
// queues goes out with Flush or the next batch.
func (d *Detector) Restore(records []firing.Record) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var alerts []events.AnomalyDetected
	for _, r := range records {
		d.records[r.Fingerprint()] = r
		switch {
		case r.Resolved != nil:
			d.outbox = append(d.outbox, engine.Emission{ID: r.ResolvedID, Data: *r.Resolved})
		case !r.Announced:
			d.outbox = append(d.outbox, engine.Emission{ID: r.DetectedID, Data: r.Detected})
		}
		if r.Detected.AnomalyID != "" {
			alerts = append(alerts, r.Detected)
		}
	}
	d.outbox = append(d.outbox, d.engine.Restore(alerts, d.now())...)
}

// Flush records and publishes what is queued, as Handle does after a batch.
func (d *Detector) Flush(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.flush(ctx)
}

// flush records and publishes the outbox in order, before the batch is
// acked. An emission leaves the outbox once it is fully done, so a failure
// retries it from the start with the redelivered batch; every step is
// idempotent (records are replaced, ids are derived).
func (d *Detector) flush(ctx context.Context) error {
	for len(d.outbox) > 0 {
		em := d.outbox[0]
		if err := d.settle(ctx, em); err != nil {
			return fmt.Errorf("%s %s: %w (the batch will be retried)", em.Data.EventType(), em.ID, err)
		}
		d.outbox = d.outbox[1:]
	}
	return nil
}

// settle takes one emission through record, publish, record: the firing
// store always holds the alert before its event is out, so that a detector
// that stops between the two finishes the job after its restart instead of
// orphaning the anomaly. An event that can never be published (it breaks
// its schema: a detector bug) is dropped with its record: keeping it would
// block every later batch, and announce it again at every restart.
func (d *Detector) settle(ctx context.Context, em engine.Emission) error {
	switch a := em.Data.(type) {
	case events.AnomalyDetected:
		r := firing.Record{Detected: a, DetectedID: em.ID}
		if err := d.record(ctx, r); err != nil {
			return err
		}
		ok, err := d.publish(ctx, em)
		if err != nil {
			return err
		}
		if !ok {
			return d.forget(ctx, a.Fingerprint)
		}
		r.Announced = true
		return d.record(ctx, r)
	case events.AnomalyResolved:
		r := d.records[a.Fingerprint]
		r.Resolved, r.ResolvedID = &a, em.ID
		if err := d.record(ctx, r); err != nil {
			return err
		}
		if _, err := d.publish(ctx, em); err != nil {
			return err
		}
		return d.forget(ctx, a.Fingerprint)
	}
	_, err := d.publish(ctx, em)
	return err
}

// record writes a series' record to the store and its mirror.
func (d *Detector) record(ctx context.Context, r firing.Record) error {
	if err := d.firing.Put(ctx, r); err != nil {
		return err
	}
	d.records[r.Fingerprint()] = r
	return nil
}

// forget deletes a series' record from the store and its mirror.
func (d *Detector) forget(ctx context.Context, fingerprint string) error {
	if err := d.firing.Delete(ctx, fingerprint); err != nil {
		return err
	}
	delete(d.records, fingerprint)
	return nil
}

// publish publishes an emission. It reports false with a nil error for an
// event dropped because it can never be published.
func (d *Detector) publish(ctx context.Context, em engine.Emission) (bool, error) {
	_, err := d.pub.Emit(ctx, em.ID, em.Data)
	switch {
	case err == nil:
		d.metrics.countEmission(em)
		d.log.Info("anomaly event published", "type", em.Data.EventType(), "event_id", em.ID, "subject", em.Data.EventSubject())
		return true, nil
	case !outcome.IsPermanent(err):
		return false, fmt.Errorf("publish: %w", err)
	}
	d.log.Error("dropping an anomaly event that cannot be published", "event_id", em.ID, "err", err)
	return false, nil
}
