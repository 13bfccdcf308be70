package app

import (
	"flag"
	"fmt"
	"time"

	"github.com/medic-sre/medic/pkg/flagenv"
	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/services/notifier/internal/notify/webhook"
)

// Name is the service's name, in logs, metrics and its NATS user.
const Name = "notifier"

// Options configure the notifier.
type Options struct {
	Service service.Options
	Webhook webhook.Config
	// RetryBase is the first redelivery delay after a failed delivery.
	RetryBase time.Duration
}

// RegisterFlags declares the notifier's flags, each with an env twin.
func (o *Options) RegisterFlags(fs *flag.FlagSet) {
	o.Service.Name = Name
	o.Service.RegisterFlags(fs)
	flagenv.StringVar(fs, &o.Webhook.URL, "webhook-url", "WEBHOOK_URL", "", "URL the notifications are POSTed to")
	flagenv.SecretVar(fs, &o.Webhook.Secret, "webhook-secret", "WEBHOOK_SECRET", "Standard Webhooks secret, whsec_<base64 key> (raw key bytes without the prefix); empty: unsigned")
	flagenv.DurationVar(fs, &o.Webhook.Timeout, "webhook-timeout", "WEBHOOK_TIMEOUT", 10*time.Second, "timeout of each webhook attempt")
	flagenv.DurationVar(fs, &o.Webhook.Backoff, "webhook-backoff", "WEBHOOK_BACKOFF", 500*time.Millisecond, "first delay between webhook attempts; it doubles")
	flagenv.DurationVar(fs, &o.Webhook.MaxRetryAfter, "webhook-max-retry-after", "WEBHOOK_MAX_RETRY_AFTER", 30*time.Second, "longest wait a Retry-After answer can ask for between webhook attempts")
	flagenv.IntVar(fs, &o.Webhook.Attempts, "webhook-attempts", "WEBHOOK_ATTEMPTS", 3, "webhook attempts per delivery before the bus redelivers later")
}

// Validate checks the notifier's own options; the webhook URL and secret
// are checked when the receiver is built, before anything connects.
func (o *Options) Validate() error {
	if o.Webhook.Attempts < 1 {
		return fmt.Errorf("--webhook-attempts (WEBHOOK_ATTEMPTS) must be at least 1, got %d", o.Webhook.Attempts)
	}
	return nil
}
