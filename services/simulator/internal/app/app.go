// Package app wires the simulator: the serving pipeline, its OpenTelemetry
// instrumentation (exported over OTLP like any instrumented service), the
// change announcements, the optional Kafka inference log and the control
// API. The simulator is the system Medic watches, so it links nothing of
// Medic: it reaches Medic only through Medic's front door.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/medic-sre/medic/services/simulator/internal/changes"
	"github.com/medic-sre/medic/services/simulator/internal/control"
	"github.com/medic-sre/medic/services/simulator/internal/fault"
	"github.com/medic-sre/medic/services/simulator/internal/model"
	"github.com/medic-sre/medic/services/simulator/internal/serving"
	"github.com/medic-sre/medic/services/simulator/internal/stats"
	"github.com/medic-sre/medic/services/simulator/internal/telemetry"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
)

// requestTick is how often the traffic loop wakes to serve the requests due.
const requestTick = 10 * time.Millisecond

// Main parses flags and env and runs until SIGINT or SIGTERM.
func Main() {
	var o Options
	if err := o.Parse(flag.CommandLine, os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", Name, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, o); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", Name, err)
		os.Exit(1)
	}
}

// Run runs the simulator until ctx ends.
func Run(ctx context.Context, o Options) error {
	return RunWithListeners(ctx, o, nil, nil)
}

// RunWithListeners is Run on existing listeners (tests pass ones on port
// 0): ln for HTTPAddr, controlLn for ControlAddr (nil listens on the
// address, when set).
func RunWithListeners(ctx context.Context, o Options, ln, controlLn net.Listener) error {
	if err := o.Validate(); err != nil {
		return err
	}
	log := newLogger(o.LogLevel)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	exportErrors := prometheus.NewCounter(prometheus.CounterOpts{Name: "simulator_otel_errors_total",
		Help: "Errors the OpenTelemetry SDK reported, such as failed exports."})
	reg.MustRegister(exportErrors)
	otel.SetErrorHandler(&errorLog{log: log, count: exportErrors.Inc, every: 10 * time.Second})

	host, _ := os.Hostname()
	tel, err := telemetry.Setup(ctx, telemetry.Config{Protocol: o.Protocol, MetricInterval: o.MetricInterval,
		Namespace: "fraud-serving", Instance: fmt.Sprintf("%s-%d", host, os.Getpid())},
		serving.Gateway, serving.FeatureService, serving.ModelServer, serving.FeatureStore)
	if err != nil {
		return err
	}
	gw, fs, ms, store := tel.Tiers[serving.Gateway], tel.Tiers[serving.FeatureService], tel.Tiers[serving.ModelServer], tel.Tiers[serving.FeatureStore]
	inst, err := serving.NewInstruments(gw.Meter, fs.Meter, ms.Meter)
	if err != nil {
		return err
	}
	storeInst, err := serving.NewStoreInstruments(store.Meter)
	if err != nil {
		return err
	}
	instances, err := tel.SetupInstances(ctx, telemetry.Config{Protocol: o.Protocol, MetricInterval: o.MetricInterval,
		Namespace: "fraud-serving"}, serving.ModelServer, o.ModelInstances)
	if err != nil {
		_ = tel.Shutdown(ctx)
		return err
	}
	registry := model.NewRegistry([]string{model.V1, model.V2}, model.Backup, model.V1)
	faults, window := fault.NewSet(), stats.NewWindow(o.StatsKeep)
	labels := &serving.Labels{Max: o.MaxPendingLabels}
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "simulator_labels_dropped_total",
		Help: "Labels dropped because more than --max-pending-labels waited."}, func() float64 { return float64(labels.Dropped()) }))
	pipe := &serving.Pipeline{Registry: registry, Faults: faults, Metrics: inst, StoreMetrics: storeInst, Labels: labels, Stats: window,
		LabelDelay: o.LabelDelay, Log: ms.Log, FeaturesLog: fs.Log,
		Tracers: serving.Tracers{Gateway: gw.Tracer, Features: fs.Tracer, Model: ms.Tracer, Store: store.Tracer}}
	for i, tier := range instances {
		pipe.Tracers.ModelInstances = append(pipe.Tracers.ModelInstances, tier.Tracer)
		if err := pipe.ObserveResources(tier.Meter, i, o.Seed); err != nil {
			_ = tel.Shutdown(ctx)
			return err
		}
	}
	pipe.Seed(o.Seed)
	inference, err := newInferenceLog(o, log, reg)
	if err != nil {
		return err
	}
	pipe.Inference = inference
	labelsOut, err := newLabelLog(o, log, reg)
	if err != nil {
		return err
	}
	if labelsOut != nil {
		pipe.LabelLog = labelsOut
	}

	announce := &changes.Client{URL: o.ChangesURL, Token: o.ChangesToken, HTTP: &http.Client{Timeout: 5 * time.Second},
		Attempts: 4, Backoff: 200 * time.Millisecond}
	ctrl := &control.Controller{Models: map[string]*model.Registry{model.Name: registry}, Faults: faults, Stats: window,
		Log: log, Now: time.Now, Changes: func(ctx context.Context, c changes.Change) error {
			ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			return announce.Post(ctx, c)
		}}
	api := control.Handler(ctrl)

	servers, err := serve(log, o, ln, controlLn, api, reg)
	if err != nil {
		_ = tel.Shutdown(ctx)
		return err
	}
	traffic, stopTraffic := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { pipe.Run(traffic, o.RPS, requestTick) })
	log.Info("simulating traffic", "rps", o.RPS, "seed", o.Seed, "model", model.Name, "model_version", registry.Serving(),
		"otlp_protocol", o.Protocol, "otlp_endpoint", os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT"), "changes", announce.String())

	<-ctx.Done()
	// Stop the traffic first, then flush what it left: the last metrics,
	// spans and logs, and the inference log.
	sctx, cancel := context.WithTimeout(context.Background(), o.ShutdownTimeout)
	defer cancel()
	ctrl.Stop()
	stopTraffic()
	wg.Wait()
	var errs []error
	for _, s := range servers {
		errs = append(errs, s.Shutdown(sctx))
	}
	if err := tel.Shutdown(sctx); err != nil {
		errs = append(errs, fmt.Errorf("flush telemetry: %w", err))
	}
	errs = append(errs, inference.Close(), labelsOut.Close())
	log.Info("stopped")
	return errors.Join(errs...)
}

// serve starts the main listener (health, metrics and the control API) and
// the control API's own listener, when one is configured.
func serve(log *slog.Logger, o Options, ln, controlLn net.Listener, api http.Handler, reg *prometheus.Registry) ([]*http.Server, error) {
	mux := http.NewServeMux()
	ok := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	}
	mux.HandleFunc("GET /healthz", ok)
	// Ready as soon as it serves: exports retry on their own, and a
	// traffic generator has no dependency worth taking it out of service.
	mux.HandleFunc("GET /readyz", ok)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/v1/", api)
	var servers []*http.Server
	start := func(l net.Listener, addr string, h http.Handler, what string) error {
		if l == nil {
			var err error
			if l, err = net.Listen("tcp", addr); err != nil {
				return fmt.Errorf("listen on %s (%s): %w", addr, what, err)
			}
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
		servers = append(servers, srv)
		go func() {
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("HTTP server", "addr", l.Addr().String(), "err", err)
			}
		}()
		log.Info("listening", "addr", l.Addr().String(), "serves", what)
		return nil
	}
	if err := start(ln, o.HTTPAddr, mux, "--http-addr"); err != nil {
		return nil, err
	}
	if controlLn != nil || o.ControlAddr != "" {
		if err := start(controlLn, o.ControlAddr, api, "--control-addr"); err != nil {
			_ = servers[0].Close()
			return nil, err
		}
	}
	return servers, nil
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l})).With("service", Name)
}

// errorLog is the OpenTelemetry SDK's error handler: it counts every error
// and logs at most one per interval, so a receiver that is down for a
// while does not flood the log.
type errorLog struct {
	log   *slog.Logger
	count func()
	every time.Duration

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func (e *errorLog) Handle(err error) {
	e.count()
	e.mu.Lock()
	defer e.mu.Unlock()
	if time.Since(e.last) < e.every {
		e.suppressed++
		return
	}
	e.log.Warn("OpenTelemetry export failed; the SDK retries and keeps a bounded queue. Check OTEL_EXPORTER_OTLP_ENDPOINT",
		"err", err, "suppressed_since_last", e.suppressed)
	e.last, e.suppressed = time.Now(), 0
}
