package app

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/medic-sre/medic/pkg/flagenv"
	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/services/rca/internal/analysis"
	"github.com/medic-sre/medic/services/rca/internal/callgraph"
	"github.com/medic-sre/medic/services/rca/internal/engine"
)

// Options configure the service.
type Options struct {
	Service service.Options
	// Settle is how long after an incident opened the analysis waits, so
	// that spans and logs still in batch writers reach ClickHouse.
	Settle time.Duration
	Engine engine.Config
	// MaxAnalysisWindow is the longest window an on-demand analysis may
	// ask for: its queries scan the whole window and baseline.
	MaxAnalysisWindow time.Duration
	// APIToken, when set, guards POST /v1/analyses with a bearer token.
	APIToken string
	// CallGraphFile is a static call graph (see callgraph.File), for
	// services without traces; empty: calls come from spans only.
	CallGraphFile string
}

// DefaultMaxAnalysisWindow is --max-analysis-window's default.
const DefaultMaxAnalysisWindow = 24 * time.Hour

// RegisterFlags declares the service's flags, each with an env twin.
func (o *Options) RegisterFlags(fs *flag.FlagSet) {
	o.Service.Name = "rca"
	o.Service.RegisterFlags(fs)
	d := engine.DefaultConfig
	o.Engine.MaxCauses = d.MaxCauses
	flagenv.DurationVar(fs, &o.Engine.MinBaseline, "min-baseline", "RCA_MIN_BASELINE", d.MinBaseline,
		"seconds of the baseline that must hold symptom data for the baseline to be sufficient; below it, confidence stays low")
	flagenv.IntVar(fs, &o.Engine.MinBaselinePoints, "min-baseline-points", "RCA_MIN_BASELINE_POINTS", d.MinBaselinePoints,
		"symptom points the baseline must hold for the baseline to be sufficient")
	flagenv.DurationVar(fs, &o.Settle, "settle", "RCA_SETTLE", 2*time.Second, "wait after an incident opened before analysing it")
	flagenv.DurationVar(fs, &o.Engine.Lead, "window-lead", "RCA_WINDOW_LEAD", d.Lead, "how long before the symptom's start the incident window opens")
	flagenv.DurationVar(fs, &o.Engine.Baseline, "baseline", "RCA_BASELINE", d.Baseline, "length of the healthy baseline before the incident window")
	flagenv.DurationVar(fs, &o.Engine.ChangeLookback, "change-lookback", "RCA_CHANGE_LOOKBACK", d.ChangeLookback, "how long before the symptom changes are considered")
	flagenv.DurationVar(fs, &o.MaxAnalysisWindow, "max-analysis-window", "RCA_MAX_ANALYSIS_WINDOW", DefaultMaxAnalysisWindow,
		"longest window (and baseline) an on-demand analysis (POST /v1/analyses) may ask for")
	flagenv.StringVar(fs, &o.CallGraphFile, "call-graph", "RCA_CALL_GRAPH", "",
		"YAML file of who calls whom (calls: {caller: [callee, ...]}), for services without traces; calls seen in spans are added to it")
	flagenv.SecretVar(fs, &o.APIToken, "api-token", "RCA_API_TOKEN",
		"bearer token of POST /v1/analyses on --http-addr; empty: none (the port is internal)")
}

// Validate checks the options. Each error names the flag, its env twin, the
// value given and what is allowed, because the operator may have set either
// and needs to know which one to fix.
func (o *Options) Validate() error {
	var errs []error
	for _, r := range o.durationRules() {
		if r.value < r.min {
			errs = append(errs, fmt.Errorf("--%s (env %s) is %v: must be %s", r.flag, r.env, r.value, r.allowed))
		}
	}
	// A minimum longer than the baseline could never be met, and every
	// analysis would be judged thin.
	if o.Engine.MinBaseline > o.Engine.Baseline {
		errs = append(errs, fmt.Errorf("--min-baseline (env RCA_MIN_BASELINE) is %v: must be at most --baseline (env RCA_BASELINE), %v",
			o.Engine.MinBaseline, o.Engine.Baseline))
	}
	if o.Engine.MinBaselinePoints < 0 {
		errs = append(errs, fmt.Errorf("--min-baseline-points (env RCA_MIN_BASELINE_POINTS) is %d: must be 0 or more", o.Engine.MinBaselinePoints))
	}
	if _, err := o.CallGraph(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// CallGraph is the static call graph of --call-graph; empty without one.
// Its errors name the flag and the file's line and field.
func (o *Options) CallGraph() (callgraph.Graph, error) {
	if o.CallGraphFile == "" {
		return callgraph.New(), nil
	}
	g, err := callgraph.Load(o.CallGraphFile)
	if err != nil {
		return g, fmt.Errorf("--call-graph (env RCA_CALL_GRAPH): %w", err)
	}
	return g, nil
}

// durationRule is the least value a duration option accepts.
type durationRule struct {
	flag, env  string
	value, min time.Duration
	allowed    string
}

func (o *Options) durationRules() []durationRule {
	// A baseline shorter than one bucket may hold no bucket start at all,
	// which leaves the window nothing to be compared with.
	bucket := time.Duration(analysis.BucketNanos)
	return []durationRule{
		{"settle", "RCA_SETTLE", o.Settle, 0, "0 (analyse at once) or more"},
		{"window-lead", "RCA_WINDOW_LEAD", o.Engine.Lead, 0, "0 (the window opens at the symptom's start) or more"},
		{"baseline", "RCA_BASELINE", o.Engine.Baseline, bucket, fmt.Sprintf("at least %v, one analysis bucket", bucket)},
		{"change-lookback", "RCA_CHANGE_LOOKBACK", o.Engine.ChangeLookback, 0, "0 (only changes after the symptom's start) or more"},
		{"min-baseline", "RCA_MIN_BASELINE", o.Engine.MinBaseline, 0, "0 (any baseline with data) or more"},
		{"max-analysis-window", "RCA_MAX_ANALYSIS_WINDOW", o.MaxAnalysisWindow, bucket, fmt.Sprintf("at least %v, one analysis bucket", bucket)},
	}
}
