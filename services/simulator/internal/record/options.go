package record

import (
	"flag"
	"fmt"
	"slices"
	"time"

	"github.com/medic-sre/medic/services/simulator/internal/fault"
)

// Healthy is the scenario without a fault: only noisy, seasonal traffic
// and the benign deploy.
const Healthy = "healthy"

// Scenarios are the names --scenario takes: healthy, or a fault kind.
func Scenarios() []string { return append([]string{Healthy}, fault.Kinds...) }

// Options configure one recording.
type Options struct {
	Seed     uint64
	Scenario string
	// Duration is the simulated time recorded.
	Duration time.Duration
	// FaultAt and FaultFor place the scenario's fault; DeployAt is when the
	// benign deploy of v1.1 happens (0: none).
	FaultAt, FaultFor, DeployAt time.Duration
	// RPS is the mean traffic; Season is the period of its sine (a
	// compressed day) and Swing its relative amplitude.
	RPS    float64
	Season time.Duration
	Swing  float64
	// LabelDelay is how long ground-truth labels take to arrive.
	LabelDelay time.Duration
	// Export is the interval of the points file's values, as an OTel SDK's
	// export interval.
	Export time.Duration
	Out    string
}

// RegisterFlags declares the record command's flags.
func (o *Options) RegisterFlags(fs *flag.FlagSet) {
	fs.Uint64Var(&o.Seed, "seed", 1, "random seed: the same seed and options record the same run")
	fs.StringVar(&o.Scenario, "scenario", Healthy, fmt.Sprintf("what to inject: one of %v", Scenarios()))
	fs.DurationVar(&o.Duration, "duration", time.Hour, "simulated time to record")
	fs.DurationVar(&o.FaultAt, "fault-at", 35*time.Minute, "when the fault starts, from the recording's start")
	fs.DurationVar(&o.FaultFor, "fault-for", 10*time.Minute, "how long the fault lasts")
	fs.DurationVar(&o.DeployAt, "deploy-at", 20*time.Minute, "when the benign deploy of v1.1 happens (0: none)")
	fs.Float64Var(&o.RPS, "rps", 10, "mean requests per second")
	fs.DurationVar(&o.Season, "season", time.Hour, "period of the traffic's daily sine, compressed")
	fs.Float64Var(&o.Swing, "swing", 0.25, "relative amplitude of the traffic's sine")
	fs.DurationVar(&o.LabelDelay, "label-delay", 5*time.Second, "how long ground-truth labels take to arrive")
	fs.DurationVar(&o.Export, "export-interval", 5*time.Second, "interval of the points file's rates and gauges")
	fs.StringVar(&o.Out, "out", "", "directory to write inference.jsonl, points.jsonl, changes.jsonl and labels.json to")
}

// Validate checks the options.
func (o *Options) Validate() error {
	switch {
	case !slices.Contains(Scenarios(), o.Scenario):
		return fmt.Errorf("--scenario %q: use one of %v", o.Scenario, Scenarios())
	case o.Out == "":
		return fmt.Errorf("--out is empty: name a directory")
	case o.Duration <= 0 || o.RPS <= 0 || o.Export <= 0 || o.Season <= 0:
		return fmt.Errorf("--duration, --rps, --export-interval and --season must be above 0")
	case o.Swing < 0 || o.Swing >= 1:
		return fmt.Errorf("--swing must be in [0, 1), got %v", o.Swing)
	case o.FaultAt%tick != 0 || o.FaultFor%tick != 0 || o.DeployAt%tick != 0:
		return fmt.Errorf("--fault-at, --fault-for and --deploy-at must be whole multiples of %s", tick)
	case o.Scenario != Healthy && (o.FaultFor <= 0 || o.FaultAt+o.FaultFor > o.Duration):
		return fmt.Errorf("the fault (--fault-at %s, --fault-for %s) must lie inside --duration %s", o.FaultAt, o.FaultFor, o.Duration)
	}
	return nil
}
