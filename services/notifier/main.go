// Command notifier tells people about incidents: it posts a JSON message to
// a webhook when an incident opens, is mitigated or resolved, and pages when
// a remediation fails or Medic hands an incident to people. Delivery is at
// least once, with an Idempotency-Key header equal to the notification id
// so that receivers drop repeats; once a delivery is recorded, redeliveries
// and restarts do not post it again.
package main

import (
	"context"

	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/services/notifier/internal/app"
)

func main() {
	var opts app.Options
	service.Main(app.Name, opts.RegisterFlags, func(ctx context.Context) error { return app.Run(ctx, opts) })
}
