package app

import (
	"flag"
	"fmt"
	"time"

	"github.com/medic-sre/medic/pkg/flagenv"
	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/services/simulator/internal/points"
)

// Name is the service's name, in logs, metrics and its NATS user.
const Name = "simulator"

// Options configure the simulator.
type Options struct {
	Service service.Options
	// ControlAddr serves the control API on a listener of its own as well
	// as on the runtime's; empty serves it on the runtime's only.
	ControlAddr string
	// RPS is the synthetic traffic rate.
	RPS  float64
	Seed uint64
	// FlushInterval is how often telemetry points are published.
	FlushInterval time.Duration
	// LabelDelay is how long ground-truth labels take to arrive.
	LabelDelay time.Duration
	// MaxBufferedPoints bounds the points kept while NATS is unreachable,
	// and the serving log records too.
	MaxBufferedPoints int
	// StatsKeep is the longest window /v1/stats answers for.
	StatsKeep time.Duration
}

// Validate checks the simulator's own options.
func (o *Options) Validate() error {
	switch {
	case o.RPS <= 0:
		return fmt.Errorf("--rps (SIM_RPS) must be above 0, got %v", o.RPS)
	case o.FlushInterval <= 0:
		return fmt.Errorf("--flush-interval (SIM_FLUSH_INTERVAL) must be above 0")
	case o.MaxBufferedPoints < points.MaxBatch:
		return fmt.Errorf("--max-buffered-points (SIM_MAX_BUFFERED_POINTS) must be at least %d", points.MaxBatch)
	case o.StatsKeep <= 0:
		return fmt.Errorf("--stats-keep (SIM_STATS_KEEP) must be above 0")
	}
	return nil
}

// RegisterFlags declares the simulator's flags, each with an env twin.
func (o *Options) RegisterFlags(fs *flag.FlagSet) {
	o.Service.Name = Name
	o.Service.RegisterFlags(fs)
	flagenv.StringVar(fs, &o.ControlAddr, "control-addr", "SIM_CONTROL_ADDR", ":8090",
		"address of a second listener for the control API, which the --http-addr listener serves too (empty: none)")
	flagenv.FloatVar(fs, &o.RPS, "rps", "SIM_RPS", 50, "synthetic requests per second")
	flagenv.DurationVar(fs, &o.FlushInterval, "flush-interval", "SIM_FLUSH_INTERVAL", 250*time.Millisecond, "how often telemetry points are published")
	flagenv.DurationVar(fs, &o.LabelDelay, "label-delay", "SIM_LABEL_DELAY", 5*time.Second, "how long ground-truth labels take to arrive")
	flagenv.DurationVar(fs, &o.StatsKeep, "stats-keep", "SIM_STATS_KEEP", 5*time.Minute, "longest window /v1/stats answers for")
	flagenv.Uint64Var(fs, &o.Seed, "seed", "SIM_SEED", 1, "random seed of the synthetic traffic")
	flagenv.IntVar(fs, &o.MaxBufferedPoints, "max-buffered-points", "SIM_MAX_BUFFERED_POINTS", 200000,
		"points (and serving log records) kept while NATS is unreachable; past it the oldest are dropped")
}
