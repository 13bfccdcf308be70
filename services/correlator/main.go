// Command correlator groups anomalies into incidents and owns their
// lifecycle (opened, acknowledged, mitigated, resolved), keeping each
// incident's state in JetStream KV, from which the archiver writes the
// incidents table. It needs NATS alone.
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
