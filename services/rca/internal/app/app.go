// Package app wires the root-cause analyzer: it consumes incident.opened and
// incident.updated, waits for telemetry to settle in ClickHouse, analyses
// the incident's anomalies (for an update, the ones that joined) and
// publishes one rca.completed per analysis. It also serves on-demand
// analyses of any window (package api) through the same engine.
package app

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/services/rca/internal/api"
	"github.com/medic-sre/medic/services/rca/internal/engine"
	"github.com/medic-sre/medic/services/rca/internal/query"
)

// Run runs the service until ctx ends.
func Run(ctx context.Context, o Options) error { return RunWithListener(ctx, o, nil) }

// RunWithListener is Run with the HTTP server on ln (tests pass port 0).
func RunWithListener(ctx context.Context, o Options, ln net.Listener) error {
	if err := o.Validate(); err != nil {
		return err
	}
	g, err := o.CallGraph()
	if err != nil {
		return err
	}
	o.Engine.CallGraph = g
	// The analysis queries ClickHouse.
	o.Service.NeedsClickHouse = true
	return service.RunWithListener(ctx, o.Service, ln, func(ctx context.Context, rt *service.Runtime) error {
		eng := engine.New(query.New(rt.Store.Conn()), o.Engine)
		// The runtime's port is internal (see docs/RCA.md); the token is
		// a second lock for where it is not.
		rt.Handle(api.Path, api.New(eng, api.Options{MaxWindow: o.MaxAnalysisWindow, DefaultBaseline: o.Engine.Baseline,
			Token: o.APIToken, Ready: rt.Store.Ready}, rt.Log.With("component", "api")))
		h := &handler{rt: rt, settle: o.Settle, engine: eng}
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
