// Package app wires the archiver: one durable consumer per table it writes
// from a stream (archive.Consumers, the miner of log templates among them,
// with its metrics on the runtime's registry) and the follower of the
// correlator's incidents bucket, on the shared service runtime.
package app

import (
	"context"
	"net"

	"github.com/medic-sre/medic/pkg/archive"
	"github.com/medic-sre/medic/pkg/service"
)

// Run runs the archiver until ctx ends.
func Run(ctx context.Context, o Options) error { return RunWithListener(ctx, o, nil) }

// RunWithListener is Run with the HTTP server on ln (tests pass port 0).
// The archiver needs ClickHouse: it applies the migrations, and /readyz
// fails while ClickHouse is down (its consumers wait, nothing is lost).
func RunWithListener(ctx context.Context, o Options, ln net.Listener) error {
	if err := o.Validate(); err != nil {
		return err
	}
	o.Service.Name = Name
	o.Service.NeedsClickHouse = true
	return service.RunWithListener(ctx, o.Service, ln, start)
}

// start begins every consumer; the runtime holds them back until ClickHouse
// is set up.
func start(ctx context.Context, rt *service.Runtime) error {
	templates := archive.NewTemplateWriter(rt.Store, rt.Metrics, archive.TemplateOptions{})
	for _, spec := range archive.Consumers() {
		route := archive.Route(spec.Durable, rt.Store)
		if spec.Durable == archive.DurableLogTemplates {
			route = templates.Route()
		}
		if err := rt.ConsumeItems(ctx, spec, route); err != nil {
			return err
		}
	}
	f, err := archive.FollowIncidents(ctx, rt.Log, rt.Bus.JetStream(), archive.NewIncidentWriter(rt.Store))
	if err != nil {
		return err
	}
	rt.OnShutdown(f.Drain)
	rt.Log.Info("archiving", "consumers", len(archive.Consumers())+1)
	return nil
}
