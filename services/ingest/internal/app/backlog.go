package app

import (
	"context"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/services/ingest/internal/backlog"
)

// watchBacklog watches the archiver's backlog until the service stops, so
// that the receivers push back while it is behind. Clients are asked to
// wait retryAfter unless the options name a delay of their own.
func watchBacklog(rt *service.Runtime, opts backlog.Options, retryAfter time.Duration) (*backlog.Watcher, error) {
	if opts.RetryAfter == 0 {
		opts.RetryAfter = retryAfter
	}
	if opts.Stream == "" {
		opts.Stream = bus.StreamTelemetry
	}
	w, err := backlog.New(rt.Bus.JetStream(), opts, rt.Metrics, rt.Log.With("component", "backlog"))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	// Registered before the receivers', so it runs after they stopped.
	rt.OnShutdown(func(context.Context) error { cancel(); <-done; return nil })
	return w, nil
}
