// Package app wires the root-cause analyzer: it consumes incident.opened,
// waits for telemetry to settle in ClickHouse, analyses the incident and
// publishes rca.completed.
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
	service.DurationVar(fs, &o.Settle, "settle", "RCA_SETTLE", 2*time.Second, "wait after an incident opened before analysing it")
	service.DurationVar(fs, &o.Engine.Lead, "window-lead", "RCA_WINDOW_LEAD", d.Lead, "how long before the symptom's start the incident window opens")
	service.DurationVar(fs, &o.Engine.Baseline, "baseline", "RCA_BASELINE", d.Baseline, "length of the healthy baseline before the incident window")
	service.DurationVar(fs, &o.Engine.ChangeLookback, "change-lookback", "RCA_CHANGE_LOOKBACK", d.ChangeLookback, "how long before the symptom changes are considered")
}

// Validate checks the options.
func (o *Options) Validate() error {
	if o.Settle < 0 || o.Engine.Lead < 0 || o.Engine.Baseline <= 0 || o.Engine.ChangeLookback < 0 {
		return errors.New("--settle, --window-lead and --change-lookback must be >= 0 and --baseline > 0")
	}
	return nil
}

// Run runs the service until ctx ends.
func Run(ctx context.Context, o Options) error { return RunWithListener(ctx, o, nil) }

// RunWithListener is Run with the HTTP server on ln (tests pass port 0).
func RunWithListener(ctx context.Context, o Options, ln net.Listener) error {
	if err := o.Validate(); err != nil {
		return err
	}
	return service.RunWithListener(ctx, o.Service, ln, func(ctx context.Context, rt *service.Runtime) error {
		h := &handler{rt: rt, settle: o.Settle, engine: engine.New(query.New(rt.Store.Conn()), o.Engine)}
		return rt.Consume(ctx, Consumer(), h.handle)
	})
}

// Consumer is the durable consumer of incidents. An analysis takes seconds
// (the settle wait plus queries), so AckWait leaves plenty of room.
func Consumer() bus.ConsumerSpec {
	return bus.ConsumerSpec{Stream: bus.StreamEvents, Durable: "rca",
		FilterSubjects: []string{events.Subject(events.TypeIncidentOpened)}, AckWait: 60 * time.Second}
}

// EventID is the id of an incident's rca.completed: a redelivered incident
// yields the same id, which the stream's duplicate window drops.
func EventID(incidentID string) string { return events.DerivedID("rca.completed", incidentID) }

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
