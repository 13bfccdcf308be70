// Command rca is Medic's root-cause analyzer: for each incident opened, and
// each time anomalies join one, it ranks the services, model versions and
// changes that explain the symptom, says how sure it is, and publishes them
// as rca.completed.
package main

import (
	"context"

	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/services/rca/internal/app"
)

func main() {
	var opts app.Options
	service.Main("rca", opts.RegisterFlags, func(ctx context.Context) error { return app.Run(ctx, opts) })
}
