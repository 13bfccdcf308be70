package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/store"
	"github.com/medic-sre/medic/pkg/telemetry"
	"golang.org/x/sync/errgroup"
)

// Runtime is what a service's Start function gets: ready connections, a
// logger, and hooks for consumers, readiness checks and cleanups.
type Runtime struct {
	Name  string
	Log   *slog.Logger
	Bus   *bus.Bus
	Store *store.Store
	Tel   *telemetry.Telemetry

	health *health

	mu        sync.Mutex
	consumers []*bus.Consumer
	cleanups  []func(context.Context) error
	started   bool
	stopping  bool
	addr      net.Addr
	mux       *http.ServeMux
}

// StartFunc wires a service once NATS and ClickHouse are ready: it starts
// consumers and goroutines and returns. Work it starts must stop when ctx
// ends or through a cleanup it registers.
type StartFunc func(ctx context.Context, rt *Runtime) error

// Run runs a service until ctx ends, then shuts it down gracefully: stop
// taking messages, drain the ones in flight, run the service's cleanups,
// flush telemetry, close connections, all within ShutdownTimeout.
func Run(ctx context.Context, o Options, start StartFunc) error {
	return RunWithListener(ctx, o, nil, start)
}

// RunWithListener is Run on an existing listener (tests pass one on port 0).
func RunWithListener(ctx context.Context, o Options, ln net.Listener, start StartFunc) error {
	if err := o.Validate(); err != nil {
		return err
	}
	level, err := telemetry.ParseLevel(o.LogLevel)
	if err != nil {
		return fmt.Errorf("--log-level %q: %w", o.LogLevel, err)
	}
	tel := telemetry.New(o.Name, level, os.Stdout)
	log := tel.Logger()
	st, err := store.Open(o.ClickHouse, log)
	if err != nil {
		return err
	}
	tel.Export(st)
	b, err := bus.Connect(o.NATSURL, "medic/"+o.Name, log, o.NATS.Options()...)
	if err != nil {
		return err
	}
	b.SetStreamLimits(o.streamLimits())
	rt := &Runtime{Name: o.Name, Log: log, Bus: b, Store: st, Tel: tel, health: newHealth()}
	hctx, stopHealth := context.WithCancel(context.Background())
	healthDone := make(chan struct{})
	streamsDone := make(chan struct{})
	go func() { defer close(healthDone); rt.watchHealth(hctx) }()
	go func() { defer close(streamsDone); b.WatchStreams(hctx, streamCheckEvery) }()
	defer func() { stopHealth(); <-healthDone; <-streamsDone }()
	if ln == nil {
		if ln, err = net.Listen("tcp", o.HTTPAddr); err != nil {
			return fmt.Errorf("listen on %s (--http-addr): %w", o.HTTPAddr, err)
		}
	}
	rt.addr = ln.Addr()
	rt.mux = rt.newMux()
	srv := &http.Server{Handler: rt.mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server", "err", err)
		}
	}()
	log.Info("service starting", "http", ln.Addr().String(), "nats", o.NATSURL, "nats_login", o.NATS, "clickhouse", o.ClickHouse.Addr)

	runErr := rt.bringUp(ctx, start)
	if runErr == nil {
		<-ctx.Done()
	}
	log.Info("shutting down", "timeout", o.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), o.ShutdownTimeout)
	defer cancel()
	err = errors.Join(runErr, rt.shutdown(sctx), srv.Shutdown(sctx), b.Close(), tel.Shutdown(sctx), st.Close())
	log.Info("stopped", "err", err)
	return err
}

// bringUp waits for NATS and ClickHouse (each retrying with backoff, while
// /readyz says what is missing), then calls start.
func (rt *Runtime) bringUp(ctx context.Context, start StartFunc) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return rt.Bus.Setup(gctx) })
	g.Go(func() error { return rt.Store.Setup(gctx) })
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil {
			return nil // asked to stop while waiting: not a failure
		}
		return err
	}
	if err := start(ctx, rt); err != nil {
		return fmt.Errorf("%s: start: %w", rt.Name, err)
	}
	rt.mu.Lock()
	rt.started = true
	rt.mu.Unlock()
	rt.Log.Info("service ready")
	return nil
}

// Consume starts a durable consumer whose in-flight messages are drained
// first on shutdown. Unless the spec says otherwise, its failures while
// NATS or ClickHouse is down are retried without limit (see
// bus.ConsumerSpec.Healthy).
func (rt *Runtime) Consume(ctx context.Context, spec bus.ConsumerSpec, h bus.Handler) error {
	rt.defaultHealth(&spec)
	c, err := rt.Bus.Consume(ctx, spec, h)
	if err != nil {
		return err
	}
	rt.mu.Lock()
	rt.consumers = append(rt.consumers, c)
	rt.mu.Unlock()
	return nil
}

// ConsumeBatch is Consume for a BatchHandler.
func (rt *Runtime) ConsumeBatch(ctx context.Context, spec bus.ConsumerSpec, h bus.BatchHandler) error {
	rt.defaultHealth(&spec)
	c, err := rt.Bus.ConsumeBatch(ctx, spec, h)
	if err != nil {
		return err
	}
	rt.mu.Lock()
	rt.consumers = append(rt.consumers, c)
	rt.mu.Unlock()
	return nil
}

func (rt *Runtime) defaultHealth(spec *bus.ConsumerSpec) {
	if spec.Healthy == nil {
		spec.Healthy = rt.dependencies
	}
}

// dependencies reports the first of NATS and ClickHouse that does not answer.
func (rt *Runtime) dependencies() error {
	if err := rt.Bus.Ready(); err != nil {
		return err
	}
	return rt.Store.Ready()
}

// OnShutdown registers a cleanup; cleanups run in reverse order, after the
// consumers have drained.
func (rt *Runtime) OnShutdown(fn func(context.Context) error) {
	rt.mu.Lock()
	rt.cleanups = append(rt.cleanups, fn)
	rt.mu.Unlock()
}

// Handle mounts a service's own HTTP handler (an API, a webhook receiver)
// beside /healthz, /readyz and /metrics.
func (rt *Runtime) Handle(pattern string, h http.Handler) { rt.mux.Handle(pattern, h) }

// Addr is the address the HTTP server listens on.
func (rt *Runtime) Addr() net.Addr { return rt.addr }

func (rt *Runtime) shutdown(ctx context.Context) error {
	rt.mu.Lock()
	// Not ready from now on, so that a load balancer stops sending work
	// while the consumers drain.
	rt.stopping = true
	consumers, cleanups := rt.consumers, rt.cleanups
	rt.mu.Unlock()
	var errs []error
	var wg sync.WaitGroup
	var emu sync.Mutex
	for _, c := range consumers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Drain(ctx); err != nil {
				emu.Lock()
				errs = append(errs, err)
				emu.Unlock()
			}
		}()
	}
	wg.Wait()
	for i := len(cleanups) - 1; i >= 0; i-- {
		errs = append(errs, cleanups[i](ctx))
	}
	return errors.Join(errs...)
}
