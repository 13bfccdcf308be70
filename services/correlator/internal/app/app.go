// Package app wires the correlator: the incident lifecycle consumer over its
// state in JetStream KV. It needs NATS alone; the archiver writes the
// incidents table from the state it saves.
package app

import (
	"context"
	"net"

	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/services/correlator/internal/correlate"
	"github.com/medic-sre/medic/services/correlator/internal/grouping"
	"github.com/medic-sre/medic/services/correlator/internal/state"
)

// Run runs the correlator until ctx ends.
func Run(ctx context.Context, o Options) error {
	return RunWithListener(ctx, o, nil)
}

// RunWithListener is Run with the HTTP server on ln (tests pass port 0).
// The configuration is loaded first, so a bad file fails before anything
// connects.
func RunWithListener(ctx context.Context, o Options, ln net.Listener) error {
	if err := o.Validate(); err != nil {
		return err
	}
	groups, err := grouping.Load(o.ConfigPath)
	if err != nil {
		return err
	}
	return service.RunWithListener(ctx, o.Service, ln, func(ctx context.Context, rt *service.Runtime) error {
		return start(ctx, rt, groups, correlate.Options{UnknownIncidentWait: o.unknownIncidentWait})
	})
}

// start opens the state buckets and begins the lifecycle consumer. The
// correlator needs NATS alone (its Options never set NeedsClickHouse), so
// detection-to-notification never waits for ClickHouse.
func start(ctx context.Context, rt *service.Runtime, groups *grouping.Config, co correlate.Options) error {
	st, err := state.Open(ctx, rt.Bus.JetStream())
	if err != nil {
		return err
	}
	h := correlate.New(rt.Log, groups, st, rt.Bus, co)
	rt.Log.Info("correlating", "group_by", groups.GroupBy)
	// The lifecycle depends on NATS alone (the service never opens
	// ClickHouse), which the spec says as well.
	spec := lifecycleSpec()
	spec.NATSOnly = true
	return rt.Consume(ctx, spec, lifecycleRoutes(h)...)
}
