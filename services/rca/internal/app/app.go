// Package app wires the root-cause analyzer: it consumes incident.opened and
// incident.updated, waits for telemetry to settle in ClickHouse, analyses
// the incident's anomalies (for an update, the ones that joined) and
// publishes one rca.completed per analysis.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/services/rca/internal/analysis"
	"github.com/medic-sre/medic/services/rca/internal/engine"
	"github.com/medic-sre/medic/services/rca/internal/query"
)

// Options configure the service.
type Options struct {
	Service service.Options
	// Settle is how long after an incident opened the analysis waits, so
	// that spans and logs still in batch writers reach ClickHouse.
	Settle time.Duration
	Engine engine.Config
}

// RegisterFlags declares the service's flags, each with an env twin.
func (o *Options) RegisterFlags(fs *flag.FlagSet) {
	o.Service.Name = "rca"
	o.Service.RegisterFlags(fs)
	d := engine.DefaultConfig
	o.Engine.MaxCauses = d.MaxCauses
	service.DurationVar(fs, &o.Engine.MinBaseline, "min-baseline", "RCA_MIN_BASELINE", d.MinBaseline,
		"seconds of the baseline that must hold symptom data for the baseline to be sufficient; below it, confidence stays low")
	service.IntVar(fs, &o.Engine.MinBaselinePoints, "min-baseline-points", "RCA_MIN_BASELINE_POINTS", d.MinBaselinePoints,
		"symptom points the baseline must hold for the baseline to be sufficient")
	service.DurationVar(fs, &o.Settle, "settle", "RCA_SETTLE", 2*time.Second, "wait after an incident opened before analysing it")
	service.DurationVar(fs, &o.Engine.Lead, "window-lead", "RCA_WINDOW_LEAD", d.Lead, "how long before the symptom's start the incident window opens")
	service.DurationVar(fs, &o.Engine.Baseline, "baseline", "RCA_BASELINE", d.Baseline, "length of the healthy baseline before the incident window")
	service.DurationVar(fs, &o.Engine.ChangeLookback, "change-lookback", "RCA_CHANGE_LOOKBACK", d.ChangeLookback, "how long before the symptom changes are considered")
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
	return errors.Join(errs...)
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
	}
}

// Run runs the service until ctx ends.
func Run(ctx context.Context, o Options) error { return RunWithListener(ctx, o, nil) }

// RunWithListener is Run with the HTTP server on ln (tests pass port 0).
func RunWithListener(ctx context.Context, o Options, ln net.Listener) error {
	if err := o.Validate(); err != nil {
		return err
	}
	// The analysis queries ClickHouse.
	o.Service.NeedsClickHouse = true
	return service.RunWithListener(ctx, o.Service, ln, func(ctx context.Context, rt *service.Runtime) error {
		h := &handler{rt: rt, settle: o.Settle, engine: engine.New(query.New(rt.Store.Conn()), o.Engine)}
		return rt.Consume(ctx, Consumer(), bus.On(h.opened), bus.On(h.updated))
	})
}

// Consumer is the durable consumer of incidents opened and updated. An
// analysis takes seconds (the settle wait plus queries); the bus signals
// progress every third of the AckWait while it runs, so a short AckWait
// only brings a killed rca's message back sooner. One message at a time:
// a buffered one would get no progress signals.
func Consumer() bus.ConsumerSpec {
	return bus.ConsumerSpec{Stream: bus.StreamEvents, Durable: "rca",
		FilterSubjects: []string{events.Subject(events.TypeIncidentOpened), events.Subject(events.TypeIncidentUpdated)},
		AckWait:        10 * time.Second, Prefetch: 1}
}

// EventID is the id of an analysis's rca.completed: a redelivered trigger
// yields the same analysis id, hence the same event id, which the stream's
// duplicate window drops.
func EventID(analysisID string) string { return events.DerivedID("rca.completed", analysisID) }

// settleFor is how long to wait before analysing an incident opened at
// opened: what is left of the settle delay, so a redelivery does not wait
// again, and never more than the delay, whatever the clocks say.
func settleFor(opened int64, settle time.Duration, now time.Time) time.Duration {
	return min(max(time.Unix(0, opened).Add(settle).Sub(now), 0), settle)
}

func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("settle wait: %w", ctx.Err())
	case <-t.C:
		return nil
	}
}
