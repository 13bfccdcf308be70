// Command archiver writes what crosses Medic's bus to ClickHouse, and is the
// only service that does: every event of the events stream to the events
// table, the telemetry of watched systems (points, spans, log records) to
// the metrics, spans and logs tables, and every saved incident state to the
// incidents table. Each has a durable consumer of its own, acked only once
// its rows are written, so a ClickHouse outage holds back the archive alone:
// detection, correlation and notification never wait for it.
package main

import (
	"context"

	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/services/archiver/internal/app"
)

func main() {
	var opts app.Options
	service.Main(app.Name, opts.RegisterFlags, func(ctx context.Context) error { return app.Run(ctx, opts) })
}
