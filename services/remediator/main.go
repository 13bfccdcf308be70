// Command remediator runs a runbook when root-cause analysis names an
// incident's cause: it acts on the watched serving system, checks in
// ClickHouse that the system recovered, and reports the outcome on the bus.
package main

import (
	"context"

	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/services/remediator/internal/app"
)

func main() {
	var opts app.Options
	service.Main(app.Name, opts.RegisterFlags, func(ctx context.Context) error { return app.Run(ctx, opts) })
}
