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
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"
)

// Runtime is what a service's Start function gets: ready connections, a
// logger, and hooks for consumers, readiness checks and cleanups.
type Runtime struct {
	Name string
	Log  *slog.Logger
	Bus  *bus.Bus
	// Store is ClickHouse, nil unless Options.NeedsClickHouse.
	Store *store.Store
	Tel   *telemetry.Telemetry
	// Metrics is the registry /metrics serves: the service registers its
	// own metrics there (NewMetrics(rt.Metrics) in its wiring). Each
	// runtime has its own, so that two services in one process count apart.
	Metrics *prometheus.Registry

	health *health

	mu        sync.Mutex
	consumers []*bus.Consumer
	// storeUp is set once ClickHouse is set up; until then, consumers that
	// need it wait in deferred.
	storeUp  bool
	deferred []func() error
	cleanups []func(context.Context) error
	// checks are the service's own readiness checks, by name (Check).
	checks   map[string]func() error
	started  bool
	stopping bool
	addr     net.Addr
	mux      *http.ServeMux
}

// StartFunc wires a service once NATS is ready: it starts consumers and
// goroutines and returns. It runs while ClickHouse may still be
// unreachable: consumers that need ClickHouse (every one whose spec does not
// say NATSOnly) start once it is set up, so it must not query ClickHouse
// itself (use Runtime.WaitClickHouse first if it must). Work it starts must
// stop when ctx ends or through a cleanup it registers.
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
	reg := newRegistry()
	var st *store.Store
	if o.NeedsClickHouse {
		if st, err = store.Open(o.ClickHouse, log); err != nil {
			return err
		}
		st.SetMetrics(store.NewMetrics(reg))
		// Best effort: the export waits out an outage on its own and is
		// no part of readiness.
		tel.Export(st)
	}
	b, err := bus.Connect(o.NATSURL, "medic/"+o.Name, log, o.NATS.Options()...)
	if err != nil {
		return err
	}
	b.SetStreamLimits(o.streamLimits())
	b.SetMetrics(bus.NewMetrics(reg))
	rt := &Runtime{Name: o.Name, Log: log, Bus: b, Store: st, Tel: tel, Metrics: reg, health: newHealth()}
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
	clickhouse := "not used"
	if st != nil {
		clickhouse = o.ClickHouse.Addr
	}
	log.Info("service starting", "http", ln.Addr().String(), "nats", o.NATSURL, "nats_login", o.NATS, "clickhouse", clickhouse)

	runErr := rt.bringUp(ctx, start)
	if runErr == nil {
		<-ctx.Done()
	}
	log.Info("shutting down", "timeout", o.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), o.ShutdownTimeout)
	defer cancel()
	err = errors.Join(runErr, rt.shutdown(sctx), srv.Shutdown(sctx), b.Close(), tel.Shutdown(sctx), closeStore(st))
	log.Info("stopped", "err", err)
	return err
}

// newRegistry is a runtime's metrics registry, with the Go runtime and
// process collectors the default registry would have had.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

func closeStore(st *store.Store) error {
	if st == nil {
		return nil
	}
	return st.Close()
}

// bringUp waits for NATS and (when the service needs it) ClickHouse, each retrying with backoff while
// /readyz says what is missing. start runs once NATS is ready, so that
// consumers that need NATS alone work during a ClickHouse outage; the
// others start once ClickHouse is set up too. The service is ready then.
func (rt *Runtime) bringUp(ctx context.Context, start StartFunc) error {
	g, gctx := errgroup.WithContext(ctx)
	storeUp := make(chan struct{})
	g.Go(func() error {
		if rt.Store == nil {
			close(storeUp)
			return nil
		}
		if err := rt.Store.Setup(gctx); err != nil {
			return err
		}
		close(storeUp)
		return nil
	})
	g.Go(func() error {
		if err := rt.Bus.Setup(gctx); err != nil {
			return err
		}
		// start gets the service's own ctx: what it starts runs until the
		// service stops, not until bringUp returns.
		if err := start(ctx, rt); err != nil {
			return fmt.Errorf("%s: start: %w", rt.Name, err)
		}
		select {
		case <-storeUp:
		case <-gctx.Done():
			return nil // the store's error, or the end of ctx, says why
		}
		return rt.startDeferred()
	})
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil {
			return nil // asked to stop while waiting: not a failure
		}
		return err
	}
	if ctx.Err() != nil {
		return nil
	}
	rt.mu.Lock()
	rt.started = true
	rt.mu.Unlock()
	rt.Log.Info("service ready")
	return nil
}

// startDeferred starts, in order, the consumers that waited for ClickHouse.
func (rt *Runtime) startDeferred() error {
	rt.mu.Lock()
	rt.storeUp = true
	deferred := rt.deferred
	rt.deferred = nil
	rt.mu.Unlock()
	for _, startConsumer := range deferred {
		if err := startConsumer(); err != nil {
			return fmt.Errorf("%s: start: %w", rt.Name, err)
		}
	}
	return nil
}

// ErrNoClickHouse means a service that did not declare NeedsClickHouse
// asked for ClickHouse.
var ErrNoClickHouse = errors.New("the service declared no need of ClickHouse (service.Options.NeedsClickHouse)")

// WaitClickHouse blocks until ClickHouse is set up, or ctx ends: for a
// StartFunc that must query it before it returns.
func (rt *Runtime) WaitClickHouse(ctx context.Context) error {
	if rt.Store == nil {
		return ErrNoClickHouse
	}
	return rt.Store.WaitReady(ctx)
}

// Consume starts a durable consumer of typed routes (see bus.On) whose
// in-flight messages are drained first on shutdown. A consumer that needs
// ClickHouse (the default) starts once ClickHouse is set up; one whose spec
// says NATSOnly starts at once. Unless the spec says otherwise, its
// failures while NATS or ClickHouse (NATS alone for NATSOnly) is down are
// retried without limit (see bus.ConsumerSpec.Healthy).
func (rt *Runtime) Consume(ctx context.Context, spec bus.ConsumerSpec, routes ...bus.Route) error {
	rt.defaultHealth(&spec)
	return rt.startConsumer(spec, func() (*bus.Consumer, error) { return rt.Bus.Consume(ctx, spec, routes...) })
}

// ConsumeItems is Consume for a typed batch route (see bus.OnBatch).
func (rt *Runtime) ConsumeItems(ctx context.Context, spec bus.ConsumerSpec, route bus.BatchRoute) error {
	rt.defaultHealth(&spec)
	return rt.startConsumer(spec, func() (*bus.Consumer, error) { return rt.Bus.ConsumeItems(ctx, spec, route) })
}

// startConsumer runs create now, or once ClickHouse is set up when the
// consumer needs it and it is not yet.
func (rt *Runtime) startConsumer(spec bus.ConsumerSpec, create func() (*bus.Consumer, error)) error {
	run := func() error {
		c, err := create()
		if err != nil {
			return err
		}
		rt.mu.Lock()
		rt.consumers = append(rt.consumers, c)
		rt.mu.Unlock()
		return nil
	}
	rt.mu.Lock()
	if !spec.NATSOnly && rt.Store != nil && !rt.storeUp {
		rt.deferred = append(rt.deferred, run)
		rt.mu.Unlock()
		rt.Log.Info("consumer waits for clickhouse", "consumer", spec.Durable)
		return nil
	}
	rt.mu.Unlock()
	return run()
}

func (rt *Runtime) defaultHealth(spec *bus.ConsumerSpec) {
	switch {
	case spec.Healthy != nil:
	case spec.NATSOnly, rt.Store == nil:
		spec.Healthy = rt.Bus.Ready
	default:
		spec.Healthy = rt.dependencies
	}
}

// dependencies reports the first of NATS and ClickHouse that does not answer.
func (rt *Runtime) dependencies() error {
	if err := rt.Bus.Ready(); err != nil {
		return err
	}
	if rt.Store == nil {
		return nil
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

// Check adds a readiness check of the service's own (a Kafka source): /readyz
// reports it by name and fails while fn returns an error. fn must answer
// from state in memory, as the other checks do.
func (rt *Runtime) Check(name string, fn func() error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.checks == nil {
		rt.checks = map[string]func() error{}
	}
	rt.checks[name] = fn
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
