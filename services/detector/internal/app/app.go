// Package app wires the detector: rules, engine and its telemetry consumer
// on the shared service runtime. The detector needs NATS alone; the
// archiver writes the points to ClickHouse.
package app

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/kv"
	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/services/detector/internal/detect"
	"github.com/medic-sre/medic/services/detector/internal/engine"
	"github.com/medic-sre/medic/services/detector/internal/firing"
	"github.com/medic-sre/medic/services/detector/internal/labeljoin"
	"github.com/medic-sre/medic/services/detector/internal/rules"
)

// Run runs the detector until ctx ends.
func Run(ctx context.Context, o Options) error { return RunWithListener(ctx, o, nil) }

// RunWithListener is Run with the HTTP server on ln (tests pass one on
// port 0). Rules are loaded before anything connects, so that a bad rules
// file fails at once with its file, line and field.
func RunWithListener(ctx context.Context, o Options, ln net.Listener) error {
	if o.Service.Name == "" {
		o.Service.Name = Name
	}
	if err := o.Validate(); err != nil {
		return err
	}
	f, err := rules.Load(o.RulesFile)
	if err != nil {
		return err
	}
	eng, err := engine.New(f.Rules, o.EvalInterval)
	if err != nil {
		return fmt.Errorf("rules: %w", err)
	}
	return service.RunWithListener(ctx, o.Service, ln, func(ctx context.Context, rt *service.Runtime) error {
		source := o.RulesFile
		if source == "" {
			source = rules.DefaultName
		}
		rt.Log.Info("rules loaded", "rules", len(f.Rules), "from", source, "eval_interval", o.EvalInterval.String())
		join, err := labelJoin(ctx, rt, f, &o)
		if err != nil {
			return err
		}
		d, err := restored(ctx, rt, eng, o, join)
		if err != nil {
			return err
		}
		// A restart replays the rules' lookback, at most --max-warm-up.
		if err := warmUp(ctx, rt, d, min(f.Lookback(), o.MaxWarmUp)); err != nil {
			rt.Log.Warn("windows not rebuilt from the stream: baseline and drift rules start empty, and fire nothing until they fill again",
				"err", err)
		}
		// Evaluation depends on NATS alone (the service's Options never
		// set NeedsClickHouse), which the spec says as well.
		spec := Consumer()
		spec.NATSOnly = true
		if err := rt.ConsumeItems(ctx, spec, bus.OnBatch(d.Handle)); err != nil {
			return err
		}
		// Ticks keep evaluation going when telemetry stops altogether; they
		// stop at shutdown, once the consumer has drained.
		ticks := make(chan struct{})
		tickCtx, stopTicks := context.WithCancel(context.WithoutCancel(ctx))
		go func() {
			defer close(ticks)
			d.TickEvery(tickCtx, tickInterval(o.EvalInterval))
		}()
		rt.OnShutdown(func(context.Context) error {
			stopTicks()
			<-ticks
			return nil
		})
		return nil
	})
}

// Consumer is the detector's durable consumer of telemetry for evaluation.
// A batch is acked once it has been evaluated and what it emitted is
// recorded and published; it does not wait for ClickHouse.
func Consumer() bus.ConsumerSpec {
	return bus.ConsumerSpec{
		Stream: bus.StreamTelemetry, Durable: "detector", BatchSize: 500,
		FilterSubjects: []string{events.Subject(events.TypeTelemetryPoints)},
	}
}

// restored makes the detector and gives it the alerts that were firing when
// the previous one stopped, before it takes any telemetry, and finishes
// what the previous one recorded but may not have published.
func restored(ctx context.Context, rt *service.Runtime, eng *engine.Engine, o Options, join detect.Joiner) (*detect.Detector, error) {
	fs, err := firing.Open(ctx, rt.Bus.JetStream())
	if err != nil {
		return nil, err
	}
	records, unreadable, err := fs.Load(ctx)
	if err != nil {
		return nil, err
	}
	if len(unreadable) > 0 {
		rt.Log.Error("firing alerts that do not decode were skipped; their anomalies will not resolve",
			"bucket", firing.Bucket, "keys", unreadable)
	}
	var pub detect.Publisher = rt.Bus
	if o.publisher != nil {
		pub = o.publisher(pub)
	}
	d := detect.New(rt.Log, pub, eng, detect.Options{Firing: fs, MaxClockSkew: o.MaxClockSkew, MaxLateness: o.MaxLateness,
		MaxSeries: o.MaxSeries, Metrics: detect.NewMetrics(rt.Metrics), Join: join, LabelWindow: o.LabelWindow})
	d.Restore(records)
	rt.Log.Info("firing alerts restored", "records", len(records))
	// Whatever does not go out now goes out with the first batch.
	if err := d.Flush(ctx); err != nil {
		rt.Log.Warn("restored anomaly events not published yet; they go with the next batch", "err", err)
	}
	return d, nil
}

// tickInterval is how often the detector evaluates without telemetry: the
// evaluation step.
func tickInterval(step time.Duration) time.Duration {
	if step <= 0 {
		return engine.DefaultStep
	}
	return step
}

// labelJoin opens the label join when a quality rule needs it (nil, and no
// bucket, otherwise), settling o.LabelWindow. Its predictions are kept in
// JetStream KV, so that a label that comes after a restart still finds
// the prediction made before it.
func labelJoin(ctx context.Context, rt *service.Runtime, f *rules.File, o *Options) (detect.Joiner, error) {
	if !f.NeedsLabels() {
		return nil, nil
	}
	longest := f.MaxLabelDelay()
	if o.LabelWindow == 0 {
		o.LabelWindow = longest + LabelWindowSlack
	}
	if o.LabelWindow < longest {
		return nil, fmt.Errorf("--label-window (LABEL_WINDOW) %v is shorter than the longest label_delay of the rules, %v", o.LabelWindow, longest)
	}
	o.LabelThreshold = cmp.Or(o.LabelThreshold, DefaultLabelThreshold)
	o.LabelStoreMaxBytes = cmp.Or(o.LabelStoreMaxBytes, DefaultLabelStoreMaxBytes)
	store, err := labeljoin.OpenKV(ctx, kv.JetStream(rt.Bus.JetStream()), o.LabelWindow, o.LabelStoreMaxBytes)
	if err != nil {
		return nil, err
	}
	rt.Log.Info("label join on", "label_window", o.LabelWindow.String(), "bucket", labeljoin.Bucket)
	return labeljoin.New(rt.Log, store, o.LabelThreshold, labeljoin.NewMetrics(rt.Metrics)), nil
}
