// Command simulator is a small ML serving system (gateway -> feature-service
// -> model-server, model "fraud" in versions v1, v2 and backup) that Medic
// watches. It sends synthetic traffic, publishes telemetry and change events
// on NATS, ships its spans and logs to ClickHouse, and serves a control API
// for fault injection and for the model actions Medic's runbooks take.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/services/simulator/internal/app"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "simulator:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	var o app.Options
	fs := flag.NewFlagSet("simulator", flag.ContinueOnError)
	o.Service.RegisterFlags(fs)
	service.StringVar(fs, &o.ControlAddr, "control-addr", "SIM_CONTROL_ADDR", ":8090",
		"address of a second listener for the control API, which the --http-addr listener serves too (empty: none)")
	service.FloatVar(fs, &o.RPS, "rps", "SIM_RPS", 50, "synthetic requests per second")
	service.DurationVar(fs, &o.FlushInterval, "flush-interval", "SIM_FLUSH_INTERVAL", 250*time.Millisecond, "how often telemetry points are published")
	service.DurationVar(fs, &o.LabelDelay, "label-delay", "SIM_LABEL_DELAY", 5*time.Second, "how long ground-truth labels take to arrive")
	service.DurationVar(fs, &o.StatsKeep, "stats-keep", "SIM_STATS_KEEP", 5*time.Minute, "longest window /v1/stats answers for")
	var seed, maxBuffered float64
	service.FloatVar(fs, &seed, "seed", "SIM_SEED", 1, "random seed of the synthetic traffic (an integer)")
	service.FloatVar(fs, &maxBuffered, "max-buffered-points", "SIM_MAX_BUFFERED_POINTS", 200000,
		"points kept while NATS is unreachable; past it the oldest are dropped")
	if err := service.Parse(fs, args); err != nil {
		return err
	}
	var err error
	if o.Seed, err = wholeNumber("seed", seed); err != nil {
		return err
	}
	mb, err := wholeNumber("max-buffered-points", maxBuffered)
	if err != nil {
		return err
	}
	o.MaxBufferedPoints = int(mb)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return app.Run(ctx, o)
}

// wholeNumber checks that a float flag holds a non-negative integer: the
// runtime offers float flags with env twins, not integer ones.
func wholeNumber(name string, f float64) (uint64, error) {
	if f < 0 || f != float64(uint64(f)) {
		return 0, fmt.Errorf("--%s must be a whole number >= 0, got %s", name, strconv.FormatFloat(f, 'g', -1, 64))
	}
	return uint64(f), nil
}
