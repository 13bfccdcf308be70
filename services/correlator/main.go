// Command correlator groups anomalies into incidents and owns their
// lifecycle (opened, acknowledged, mitigated, resolved), writing each
// transition to ClickHouse; it also archives every event on the bus.
package main

import (
	"context"

	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/services/correlator/internal/app"
)

func main() {
	var opts app.Options
	service.Main(app.Name, opts.RegisterFlags, func(ctx context.Context) error { return app.Run(ctx, opts) })
}
