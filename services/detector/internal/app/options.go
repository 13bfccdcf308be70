package app

import (
	"flag"
	"fmt"
	"time"

	"github.com/medic-sre/medic/pkg/flagenv"
	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/services/detector/internal/detect"
	"github.com/medic-sre/medic/services/detector/internal/engine"
)

// Name is the service's name, in logs, metrics and its NATS user.
const Name = "detector"

// Options configure the detector.
type Options struct {
	Service service.Options
	// RulesFile is a rules YAML file; empty means the embedded defaults.
	RulesFile string
	// EvalInterval is the evaluation step on event time.
	EvalInterval time.Duration
	// MaxClockSkew is how far past the detector's clock a point may be
	// stamped and still be evaluated.
	MaxClockSkew time.Duration
	// MaxLateness is how far before the detector's clock a point may be
	// stamped and still be evaluated; older points are backfill.
	MaxLateness time.Duration
	// MaxSeries bounds the alert series held in memory (0: no bound).
	MaxSeries int
	// MaxWarmUp bounds how much already-evaluated telemetry a restarted
	// detector replays to rebuild its windows (see warmUp): the rules'
	// lookback, at most this; 0 replays nothing.
	MaxWarmUp time.Duration
	// LabelWindow is how long a prediction is kept for its label when a
	// quality rule needs the label join; 0 is the longest label_delay of
	// the rules plus LabelWindowSlack.
	LabelWindow time.Duration
	// LabelThreshold splits scores and labels into classes for the
	// join's outcome points: at or above it is the positive class (0 is
	// DefaultLabelThreshold).
	LabelThreshold float64
	// LabelStoreMaxBytes bounds the store of predictions awaiting labels
	// (0 is DefaultLabelStoreMaxBytes).
	LabelStoreMaxBytes int64

	// publisher, when set, wraps the bus the detector publishes anomalies
	// on: tests use it to stop a detector between two of its effects.
	publisher func(detect.Publisher) detect.Publisher
}

// RegisterFlags declares the detector's flags, each with an env twin.
func (o *Options) RegisterFlags(fs *flag.FlagSet) {
	o.Service.Name = Name
	o.Service.RegisterFlags(fs)
	flagenv.StringVar(fs, &o.RulesFile, "rules", "RULES_FILE", "", "alerting rules YAML file (default: the embedded rules)")
	flagenv.DurationVar(fs, &o.EvalInterval, "eval-interval", "EVAL_INTERVAL", engine.DefaultStep, "rule evaluation step, on event time")
	flagenv.DurationVar(fs, &o.MaxClockSkew, "max-clock-skew", "MAX_CLOCK_SKEW", detect.DefaultMaxClockSkew,
		"points stamped later than now plus this are not evaluated")
	flagenv.DurationVar(fs, &o.MaxLateness, "max-lateness", "MAX_LATENESS", detect.DefaultMaxLateness,
		"points stamped earlier than now minus this (backfill) are not evaluated")
	flagenv.IntVar(fs, &o.MaxSeries, "max-series", "MAX_SERIES", detect.DefaultMaxSeries,
		"most alert series (rule x group) held in memory; points that would start more are counted, logged and not evaluated (0: no limit)")
	flagenv.DurationVar(fs, &o.MaxWarmUp, "max-warm-up", "MAX_WARM_UP", DefaultMaxWarmUp,
		"at start, replay at most this much of the telemetry evaluated before, to rebuild windows and baselines (the rules' longest window plus baseline or reference; 0: none)")
	flagenv.DurationVar(fs, &o.LabelWindow, "label-window", "LABEL_WINDOW", 0,
		"how long a prediction waits for its label, when a quality rule is loaded (default: the longest label_delay plus a minute)")
	flagenv.FloatVar(fs, &o.LabelThreshold, "label-threshold", "LABEL_THRESHOLD", DefaultLabelThreshold,
		"scores and labels at or above this are the positive class, for quality.correct and quality.tp/fp/fn/tn")
	flagenv.BytesVar(fs, &o.LabelStoreMaxBytes, "label-store-max-bytes", "LABEL_STORE_MAX_BYTES", DefaultLabelStoreMaxBytes,
		"size limit of the KV bucket of predictions awaiting labels; predictions past it are counted and dropped")
}

// DefaultMaxWarmUp bounds a restart's replay: at about 200,000 points a
// second (BenchmarkFromTheBus), 30 minutes of 2,000 points a second take
// some 18 s to read again.
const DefaultMaxWarmUp = 30 * time.Minute

// LabelWindowSlack is what the default label window adds to the longest
// label_delay: a label sent just in time still finds its prediction.
const LabelWindowSlack = time.Minute

// DefaultLabelThreshold is the default of --label-threshold, for scores
// that are probabilities and labels that are 0 or 1.
const DefaultLabelThreshold = 0.5

// DefaultLabelStoreMaxBytes is the default of --label-store-max-bytes:
// about a million predictions.
const DefaultLabelStoreMaxBytes = 256 << 20

// Validate checks the detector's options before anything connects; the
// rules file is checked when it loads, with its file, line and field.
func (o *Options) Validate() error {
	if o.EvalInterval < 0 {
		return fmt.Errorf("--eval-interval (EVAL_INTERVAL) must be 0 (the default step) or more, got %v", o.EvalInterval)
	}
	if o.MaxClockSkew < 0 {
		return fmt.Errorf("--max-clock-skew (MAX_CLOCK_SKEW) must be 0 or more, got %v", o.MaxClockSkew)
	}
	if o.LabelWindow < 0 {
		return fmt.Errorf("--label-window (LABEL_WINDOW) must be 0 (the default) or more, got %v", o.LabelWindow)
	}
	if o.LabelStoreMaxBytes < 0 {
		return fmt.Errorf("--label-store-max-bytes (LABEL_STORE_MAX_BYTES) must be 0 (the default) or more, got %d", o.LabelStoreMaxBytes)
	}
	if o.MaxWarmUp < 0 {
		return fmt.Errorf("--max-warm-up (MAX_WARM_UP) must be 0 (no replay) or more, got %v", o.MaxWarmUp)
	}
	if o.MaxLateness < 0 {
		return fmt.Errorf("--max-lateness (MAX_LATENESS) must be 0 (the default) or more, got %v", o.MaxLateness)
	}
	if o.MaxSeries < 0 {
		return fmt.Errorf("--max-series (MAX_SERIES) must be 0 (no limit) or more, got %d", o.MaxSeries)
	}
	return nil
}
