// Command ingest is Medic's front door: it receives the telemetry of the
// systems Medic watches (OTLP over gRPC and HTTP) and publishes it on the
// bus, answering a request only once its data is durable in JetStream. It
// keeps no state that matters across instances, so it scales out.
package main

import (
	"context"

	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/services/ingest/internal/app"
)

func main() {
	var opts app.Options
	service.Main(app.Name, opts.RegisterFlags, func(ctx context.Context) error { return app.Run(ctx, opts) })
}
