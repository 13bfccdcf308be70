package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/medic-sre/medic/pkg/kv"
	"github.com/nats-io/nats.go/jetstream"
)

// Bucket is the JetStream KV bucket that remembers delivered notifications.
const Bucket = "medic_notifications"

// ledgerTTL outlives the events stream's retention, so a redelivered event
// always finds its record.
const ledgerTTL = 7 * 24 * time.Hour

// Record is what the ledger keeps about a delivered notification, enough
// to publish notification.sent again unchanged.
type Record struct {
	Receiver     string `json:"receiver"`
	StatusCode   int    `json:"status_code"`
	Attempts     int    `json:"attempts"`
	SentUnixNano int64  `json:"sent_unix_nano"`
}

// Ledger remembers which notifications were delivered.
type Ledger interface {
	Delivered(ctx context.Context, id string) (Record, bool, error)
	MarkDelivered(ctx context.Context, id string, r Record) error
}

// KVLedger is a Ledger on a JetStream KV bucket, so that it survives
// restarts and is shared by every notifier replica.
type KVLedger struct {
	store *kv.Store[Record]
}

// OpenKVLedger creates the bucket when missing.
func OpenKVLedger(ctx context.Context, js jetstream.JetStream) (*KVLedger, error) {
	store, err := kv.Open[Record](ctx, kv.JetStream(js), kv.Config{Bucket: Bucket, Description: "delivered notifications", TTL: ledgerTTL})
	if err != nil {
		return nil, err
	}
	return &KVLedger{store: store}, nil
}

// Delivered implements Ledger.
func (l *KVLedger) Delivered(ctx context.Context, id string) (Record, bool, error) {
	e, err := l.store.Get(ctx, id)
	if errors.Is(err, kv.ErrNotFound) {
		return Record{}, false, nil
	}
	if err != nil {
		return Record{}, false, fmt.Errorf("ledger %s: %w", id, err)
	}
	return e.Value, true, nil
}

// MarkDelivered implements Ledger. A claim keeps the first record when two
// replicas delivered at once, so notification.sent stays the same.
func (l *KVLedger) MarkDelivered(ctx context.Context, id string, r Record) error {
	if _, err := l.store.Create(ctx, id, r); err != nil && !errors.Is(err, kv.ErrExists) {
		return fmt.Errorf("ledger %s: %w", id, err)
	}
	return nil
}
