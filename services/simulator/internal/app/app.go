// Package app wires the simulator: the serving pipeline, the publishers of
// its telemetry (points, spans and logs, all as events on the bus) and the
// control API, on the shared service runtime. The simulator is the system
// Medic watches, so it stays outside Medic: it needs NATS alone, never
// connects to ClickHouse and applies no migrations.
package app

import (
	"context"
	"log/slog"
	"net"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/services/simulator/internal/control"
	"github.com/medic-sre/medic/services/simulator/internal/export"
	"github.com/medic-sre/medic/services/simulator/internal/fault"
	"github.com/medic-sre/medic/services/simulator/internal/model"
	"github.com/medic-sre/medic/services/simulator/internal/points"
	"github.com/medic-sre/medic/services/simulator/internal/serving"
	"github.com/medic-sre/medic/services/simulator/internal/stats"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Run runs the simulator until ctx ends.
func Run(ctx context.Context, o Options) error {
	return RunWithListeners(ctx, o, nil, nil)
}

// RunWithListeners is Run on existing listeners (tests pass ones on port
// 0): ln for the runtime, controlLn for the control API (nil listens on
// ControlAddr, when set).
func RunWithListeners(ctx context.Context, o Options, ln, controlLn net.Listener) error {
	if err := o.Validate(); err != nil {
		return err
	}
	o.Service.Name = Name
	// A watched system: NATS alone (NeedsClickHouse stays false).
	o.Service.NeedsClickHouse = false
	return service.RunWithListener(ctx, o.Service, ln, func(ctx context.Context, rt *service.Runtime) error {
		return start(ctx, rt, o, controlLn)
	})
}

func start(ctx context.Context, rt *service.Runtime, o Options, controlLn net.Listener) error {
	registry := model.NewRegistry([]string{model.V1, model.V2}, model.Backup, model.V1)
	faults, window := fault.NewSet(), stats.NewWindow(o.StatsKeep)
	buf := points.NewBuffer(o.MaxBufferedPoints, rt.Metrics)
	emit := func(ctx context.Context, id string, d events.Data) error {
		_, err := rt.Bus.Emit(ctx, id, d)
		return err
	}
	spans := &export.SpanExporter{Source: "simulator", Publish: emit, Timeout: 5 * time.Second}
	logs := &export.Logs{Source: "simulator", Publish: emit, Timeout: 5 * time.Second, Max: o.MaxBufferedPoints}
	tracers := map[string]*sdktrace.TracerProvider{}
	for _, tier := range []string{serving.Gateway, serving.FeatureService, serving.ModelServer} {
		tracers[tier] = spans.TracerProvider(tier)
	}
	pipe := &serving.Pipeline{Registry: registry, Faults: faults, Points: buf, Stats: window, LabelDelay: o.LabelDelay,
		Log: slog.New(logs.Handler(serving.ModelServer, slog.LevelInfo)),
		Tracers: serving.Tracers{
			Gateway:  tracers[serving.Gateway].Tracer("simulator"),
			Features: tracers[serving.FeatureService].Tracer("simulator"),
			Model:    tracers[serving.ModelServer].Tracer("simulator"),
		}}
	pipe.Seed(o.Seed)
	ctrl := &control.Controller{Models: map[string]*model.Registry{model.Name: registry}, Faults: faults, Stats: window,
		Log: rt.Log, Now: time.Now, Changes: func(ctx context.Context, c events.ChangeRecorded) error {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			_, err := rt.Bus.Emit(ctx, c.ChangeID, c)
			return err
		}}
	// A stopped controller arms no new timer, so a late request is harmless.
	rt.OnShutdown(func(context.Context) error { ctrl.Stop(); return nil })
	api := control.Handler(ctrl)
	rt.Handle("/v1/", api)
	if err := serveControl(rt, o.ControlAddr, controlLn, api); err != nil {
		return err
	}
	pub := &points.Publisher{Buffer: buf, Source: "simulator", Timeout: 5 * time.Second, Log: rt.Log,
		Publish: func(ctx context.Context, id string, b events.TelemetryPoints) error { return emit(ctx, id, b) }}
	runLoops(ctx, rt, o, pipe, pub, exporters{logs: logs, tracers: tracers})
	rt.Log.Info("simulating traffic", "rps", o.RPS, "seed", o.Seed, "model", model.Name, "model_version", registry.Serving())
	return nil
}
