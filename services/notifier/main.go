// Command notifier tells people about incidents: it posts a JSON message to
// a webhook when an incident opens, is mitigated or resolved, and pages when
// a remediation fails or Medic hands an incident to people. Delivery is at
// least once, with an Idempotency-Key header equal to the notification id
// so that receivers drop repeats; once a delivery is recorded, redeliveries
// and restarts do not post it again.
package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/services/notifier/internal/app"
)

func main() {
	o := app.Options{Service: service.Options{Name: "notifier"}}
	service.Main("notifier", func(fs *flag.FlagSet) {
		o.Service.RegisterFlags(fs)
		service.StringVar(fs, &o.Webhook.URL, "webhook-url", "WEBHOOK_URL", "", "URL the notifications are POSTed to")
		service.StringVar(fs, &o.Webhook.Secret, "webhook-secret", "WEBHOOK_SECRET", "", "Standard Webhooks secret, whsec_<base64 key> (raw key bytes without the prefix); empty: unsigned")
		service.DurationVar(fs, &o.Webhook.Timeout, "webhook-timeout", "WEBHOOK_TIMEOUT", 10*time.Second, "timeout of each webhook attempt")
		service.DurationVar(fs, &o.Webhook.Backoff, "webhook-backoff", "WEBHOOK_BACKOFF", 500*time.Millisecond, "first delay between webhook attempts; it doubles")
		service.DurationVar(fs, &o.Webhook.MaxRetryAfter, "webhook-max-retry-after", "WEBHOOK_MAX_RETRY_AFTER", 30*time.Second, "longest wait a Retry-After answer can ask for between webhook attempts")
		service.IntVar(fs, &o.Webhook.Attempts, "webhook-attempts", "WEBHOOK_ATTEMPTS", 3, "webhook attempts per delivery before the bus redelivers later")
	}, func(ctx context.Context) error {
		if o.Webhook.Attempts < 1 {
			return fmt.Errorf("--webhook-attempts (WEBHOOK_ATTEMPTS) must be at least 1, got %d", o.Webhook.Attempts)
		}
		return app.Run(ctx, o)
	})
}
