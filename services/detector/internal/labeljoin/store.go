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

// Remember keeps p under id. A prediction sent again (a redelivery) keeps
// the record as it is, joined or not, so that its label counts once.
func (s *KVStore) Remember(ctx context.Context, id string, p Prediction) error {
	_, err := s.store.Create(ctx, id, p)
	switch {
	case errors.Is(err, kv.ErrExists):
		return nil
	case errors.Is(err, kv.ErrFull):
		return ErrFull
	case errors.Is(err, kv.ErrInvalidKey):
		return ErrBadID
	}
	return err
}

// Take gets the prediction under id and marks it joined by `by` (the label
// that took it), at the revision read: of two labels, or two detectors,
// exactly one takes it. The same label taking it again (its event
// redelivered after a crash, before its outcomes were counted) gets it
// again; any other gets nothing. The record stays until the bucket's TTL,
// so that a restarted detector can count it again (Joined). An id too long
// to be a key, or a record that does not decode, is no prediction.
func (s *KVStore) Take(ctx context.Context, id, by string) (Prediction, bool, error) {
	e, ok, err := s.get(ctx, id)
	if !ok {
		return Prediction{}, false, err
	}
	switch e.Value.JoinedBy {
	case by:
		return e.Value, true, nil
	case "":
	default:
		return Prediction{}, false, nil
	}
	p := e.Value
	p.JoinedBy = by
	if _, err := s.store.Update(ctx, id, p, e.Revision); err != nil {
		if errors.Is(err, kv.ErrConflict) || errors.Is(err, kv.ErrFull) {
			return Prediction{}, false, nil
		}
		return Prediction{}, false, err
	}
	return p, true, nil
}

// Joined returns the prediction under id if the label `by` joined it.
func (s *KVStore) Joined(ctx context.Context, id, by string) (Prediction, bool, error) {
	e, ok, err := s.get(ctx, id)
	if !ok {
		return Prediction{}, false, err
	}
	return e.Value, e.Value.JoinedBy == by, nil
}

// get reads the record under id; an id too long to be a key, or a record
// that does not decode, is none.
func (s *KVStore) get(ctx context.Context, id string) (kv.Entry[Prediction], bool, error) {
	e, err := s.store.Get(ctx, id)
	switch {
	case errors.Is(err, kv.ErrNotFound), errors.Is(err, kv.ErrInvalidKey), errors.Is(err, kv.ErrUnreadable):
		return e, false, nil
	case err != nil:
		return e, false, err
	}
	return e, true, nil
}
