// Package firing keeps the detector's firing alerts in a JetStream KV
// bucket, so that a restarted detector resolves them under their original
// anomaly ids instead of forgetting them (which would leave their incidents
// open for good). Each record is the anomaly.detected the alert emitted,
// keyed by its series fingerprint.
package firing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/nats-io/nats.go/jetstream"
)

// Bucket is the KV bucket of firing alerts.
const Bucket = "medic_detector_firing"

// Store is the bucket of firing alerts.
type Store struct {
	kv jetstream.KeyValue
}

// Open creates the bucket when missing. It has no TTL: an alert may fire for
// as long as its fault lasts, and its record goes when it resolves.
func Open(ctx context.Context, js jetstream.JetStream) (*Store, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      Bucket,
		Description: "detector alerts that are firing, by series fingerprint",
		Storage:     jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("kv bucket %s: %w", Bucket, err)
	}
	return &Store{kv: kv}, nil
}

// Put records a firing alert.
func (s *Store) Put(ctx context.Context, a events.AnomalyDetected) error {
	raw, err := json.Marshal(a)
	if err != nil {
		return err
	}
	if _, err := s.kv.Put(ctx, a.Fingerprint, raw); err != nil {
		return fmt.Errorf("record firing anomaly %s: %w", a.AnomalyID, err)
	}
	return nil
}

// Delete forgets the alert of a series once it resolved. Deleting a record
// that is not there (a redelivered resolution) is no error.
func (s *Store) Delete(ctx context.Context, fingerprint string) error {
	if err := s.kv.Delete(ctx, fingerprint); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("forget firing series %s: %w", fingerprint, err)
	}
	return nil
}

// Load returns every firing alert, and the keys of records that do not
// decode: those are for the caller to report, since failing the start over
// one bad record would stop all detection.
func (s *Store) Load(ctx context.Context) (firing []events.AnomalyDetected, unreadable []string, err error) {
	w, err := s.kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, nil, fmt.Errorf("read kv bucket %s: %w", Bucket, err)
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("read kv bucket %s: %w", Bucket, ctx.Err())
		case e := <-w.Updates():
			if e == nil { // the watcher has delivered every current record
				return firing, unreadable, nil
			}
			var a events.AnomalyDetected
			if err := json.Unmarshal(e.Value(), &a); err != nil || a.Fingerprint != e.Key() {
				unreadable = append(unreadable, e.Key())
				continue
			}
			firing = append(firing, a)
		}
	}
}
