package labeljoin

import (
	"context"
	"errors"
	"time"

	"github.com/medic-sre/medic/pkg/kv"
)

// Bucket is the KV bucket of predictions awaiting their labels.
const Bucket = "medic_detector_predictions"

// KVStore keeps predictions in a KV bucket (JetStream KV in the detector):
// it outlives a restart of the detector, shares nothing with the engine's
// memory, ages predictions out after the label window by the bucket's TTL,
// and is bounded in bytes.
type KVStore struct {
	store *kv.Store[Prediction]
}

// OpenKV opens the bucket in b, with records kept for window and at most
// maxBytes in all.
func OpenKV(ctx context.Context, b kv.Buckets, window time.Duration, maxBytes int64) (*KVStore, error) {
	s, err := kv.Open[Prediction](ctx, b, kv.Config{Bucket: Bucket, TTL: window, MaxBytes: maxBytes,
		Description: "predictions awaiting their labels, by prediction id"})
	if err != nil {
		return nil, err
	}
	return &KVStore{store: s}, nil
}

// Remember puts p under id; a prediction sent twice overwrites itself.
func (s *KVStore) Remember(ctx context.Context, id string, p Prediction) error {
	_, err := s.store.Put(ctx, id, p)
	switch {
	case errors.Is(err, kv.ErrFull):
		return ErrFull
	case errors.Is(err, kv.ErrInvalidKey):
		return ErrBadID
	}
	return err
}

// Take gets the prediction under id and deletes it. An id too long to be a
// key, or a record that does not decode, is no prediction.
func (s *KVStore) Take(ctx context.Context, id string) (Prediction, bool, error) {
	e, err := s.store.Get(ctx, id)
	switch {
	case errors.Is(err, kv.ErrNotFound), errors.Is(err, kv.ErrInvalidKey), errors.Is(err, kv.ErrUnreadable):
		return Prediction{}, false, nil
	case err != nil:
		return Prediction{}, false, err
	}
	// Deleting at the revision read: of two deliveries of one label, one
	// deletes, and the other finds a conflict and counts nothing.
	if err := s.store.DeleteAt(ctx, id, e.Revision); err != nil {
		if errors.Is(err, kv.ErrConflict) {
			return Prediction{}, false, nil
		}
		return Prediction{}, false, err
	}
	return e.Value, true, nil
}
