// Command simulator is a small ML serving system (gateway -> feature-service
// -> model-server, model "fraud" in versions v1, v2 and backup) that Medic
// watches. It sends synthetic traffic, publishes its telemetry (points,
// spans and logs) and change events on NATS, the only way into Medic (it
// never connects to ClickHouse), and serves a control API for fault
// injection and for the model actions Medic's runbooks take.
package main

import (
	"context"

	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/services/simulator/internal/app"
)

func main() {
	var opts app.Options
	service.Main(app.Name, opts.RegisterFlags, func(ctx context.Context) error { return app.Run(ctx, opts) })
}
