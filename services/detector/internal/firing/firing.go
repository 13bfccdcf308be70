// Package firing keeps the detector's firing alerts in a JetStream KV
// bucket, so that a restarted detector resolves them under their original
// anomaly ids instead of forgetting them (which would leave their incidents
// open for good). Each record, keyed by its series fingerprint, says where
// the alert is between two publishes: fired but maybe not yet announced,
// announced, or resolved but maybe not yet announced as resolved.
//
// The detector writes a record before it publishes the event the record
// describes, so that a crash between the two leaves a record to finish
// from, never an event without one.
package firing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/kv"
	"github.com/nats-io/nats.go/jetstream"
)

// Bucket is the KV bucket of firing alerts.
const Bucket = "medic_detector_firing"

// Record is what the bucket keeps for one alert series.
type Record struct {
	// Detected is the anomaly.detected the alert emitted, and DetectedID
	// its event id.
	Detected   events.AnomalyDetected `json:"detected"`
	DetectedID string                 `json:"detected_id,omitempty"`
	// Announced says that Detected has been published. It is false from
	// when the alert is recorded until the publish succeeded, so that a
	// detector that stopped in between publishes it again, under the same
	// event id.
	Announced bool `json:"announced"`
	// Resolved, when set, is the anomaly.resolved the alert emitted, and
	// ResolvedID its event id: recorded before it is published, and the
	// record is deleted once it has been.
	Resolved   *events.AnomalyResolved `json:"resolved,omitempty"`
	ResolvedID string                  `json:"resolved_id,omitempty"`
}

// Fingerprint is the series the record is about: its key in the bucket.
func (r Record) Fingerprint() string {
	if r.Resolved != nil {
		return r.Resolved.Fingerprint
	}
	return r.Detected.Fingerprint
}

// config is the bucket's. It has no TTL: an alert may fire for as long as
// its fault lasts, and its record goes when it resolves.
var config = kv.Config{Bucket: Bucket, Description: "detector alerts that are firing, by series fingerprint"}

// Store is the bucket of firing alerts. Each series has one writer, the
// detector that evaluates it, so records are put without revision checks.
type Store struct {
	store *kv.Store[Record]
}

// Open creates the bucket when missing.
func Open(ctx context.Context, js jetstream.JetStream) (*Store, error) {
	store, err := kv.Open[Record](ctx, kv.JetStream(js), config)
	if err != nil {
		return nil, err
	}
	return &Store{store: store}, nil
}

// Put writes the record of a series, replacing what was there.
func (s *Store) Put(ctx context.Context, r Record) error {
	if _, err := s.store.Put(ctx, r.Fingerprint(), r); err != nil {
		return fmt.Errorf("record firing series %s: %w", r.Fingerprint(), err)
	}
	return nil
}

// Delete forgets the alert of a series once its resolution is out. Deleting
// a record that is not there (a redelivered resolution) is no error.
func (s *Store) Delete(ctx context.Context, fingerprint string) error {
	if err := s.store.Delete(ctx, fingerprint); err != nil {
		return fmt.Errorf("forget firing series %s: %w", fingerprint, err)
	}
	return nil
}

// Load returns every record, and the keys of records that do not decode:
// those are for the caller to report, since failing the start over one bad
// record would stop all detection.
func (s *Store) Load(ctx context.Context) (records []Record, unreadable []string, err error) {
	keys, err := s.store.Keys(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, k := range keys {
		e, err := s.store.Get(ctx, k)
		switch {
		case errors.Is(err, kv.ErrNotFound): // deleted since it was listed
		case errors.Is(err, kv.ErrUnreadable) || (err == nil && (e.Value.Fingerprint() == "" || e.Value.Fingerprint() != k)):
			unreadable = append(unreadable, k)
		case err != nil:
			return nil, nil, err
		default:
			records = append(records, e.Value)
		}
	}
	return records, unreadable, nil
}

// UnmarshalJSON reads a record. A record written before records had a
// state is the bare anomaly.detected, written once it had been published.
func (r *Record) UnmarshalJSON(raw []byte) error {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil {
		return err
	}
	if _, ok := probe["anomaly_id"]; ok {
		var a events.AnomalyDetected
		if err := json.Unmarshal(raw, &a); err != nil {
			return err
		}
		*r = Record{Detected: a, Announced: true}
		return nil
	}
	type plain Record // without this method
	var p plain
	if err := json.Unmarshal(raw, &p); err != nil {
		return err
	}
	*r = Record(p)
	return nil
}
