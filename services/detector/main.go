// Command detector turns telemetry into anomalies: it evaluates alerting
// rules over telemetry points on event time and publishes anomaly.detected
// and anomaly.resolved events. It needs NATS alone; the archiver writes the
// points to ClickHouse.
package main

import (
	"context"

	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/services/detector/internal/app"
)

func main() {
	var opts app.Options
	service.Main(app.Name, opts.RegisterFlags, func(ctx context.Context) error { return app.Run(ctx, opts) })
}
