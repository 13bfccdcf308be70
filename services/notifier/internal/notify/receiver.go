package notify

import (
	"context"
	"errors"
)

// ErrRejected means the receiver refused the notification (a 4xx answer):
// sending it again cannot help.
var ErrRejected = errors.New("notification rejected")

// Message is one notification to deliver.
type Message struct {
	// ID is stable across redeliveries; receivers get it as an
	// idempotency key.
	ID   string
	Body []byte
}

// Delivery is what a successful send reports.
type Delivery struct {
	StatusCode int
	Attempts   int
}

// Receiver delivers notifications somewhere (a webhook now; Slack or
// PagerDuty later). Send retries what is worth retrying itself, and wraps
// ErrRejected when the receiver refused.
type Receiver interface {
	Name() string
	Send(ctx context.Context, m Message) (Delivery, error)
}
