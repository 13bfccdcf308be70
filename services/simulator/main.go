// Command simulator is a small ML serving system (gateway -> feature-service
// -> model-server, model "fraud" in versions v1, v2 and backup) that Medic
// watches. It sends synthetic traffic, publishes its telemetry (points,
// spans and logs) and change events on NATS, the only way into Medic (it
// never connects to ClickHouse), and serves a control API for fault
// injection and for the model actions Medic's runbooks take.
package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/services/simulator/internal/app"
)

func main() {
	var o app.Options
	var seed int
	service.Main("simulator", func(fs *flag.FlagSet) {
		o.Service.RegisterFlags(fs)
		service.StringVar(fs, &o.ControlAddr, "control-addr", "SIM_CONTROL_ADDR", ":8090",
			"address of a second listener for the control API, which the --http-addr listener serves too (empty: none)")
		service.FloatVar(fs, &o.RPS, "rps", "SIM_RPS", 50, "synthetic requests per second")
		service.DurationVar(fs, &o.FlushInterval, "flush-interval", "SIM_FLUSH_INTERVAL", 250*time.Millisecond, "how often telemetry points are published")
		service.DurationVar(fs, &o.LabelDelay, "label-delay", "SIM_LABEL_DELAY", 5*time.Second, "how long ground-truth labels take to arrive")
		service.DurationVar(fs, &o.StatsKeep, "stats-keep", "SIM_STATS_KEEP", 5*time.Minute, "longest window /v1/stats answers for")
		service.IntVar(fs, &seed, "seed", "SIM_SEED", 1, "random seed of the synthetic traffic")
		service.IntVar(fs, &o.MaxBufferedPoints, "max-buffered-points", "SIM_MAX_BUFFERED_POINTS", 200000,
			"points (and serving log records) kept while NATS is unreachable; past it the oldest are dropped")
	}, func(ctx context.Context) error {
		if seed < 0 || o.MaxBufferedPoints < 0 {
			return fmt.Errorf("--seed (SIM_SEED) and --max-buffered-points (SIM_MAX_BUFFERED_POINTS) must be >= 0, got %d and %d", seed, o.MaxBufferedPoints)
		}
		o.Seed = uint64(seed)
		return app.Run(ctx, o)
	})
}
