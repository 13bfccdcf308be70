// Package record runs the serving pipeline on simulated time and writes
// what it served to files: a labelled scenario for the detector's suite.
// Nothing sleeps, so an hour records in seconds. The scenario's fault is
// injected and cleared through the control API's controller, exactly as
// `POST /v1/faults` would, and the traffic is healthy around it: noisy,
// seasonal, with a benign deploy. labels.json holds the ground truth, for
// scoring only; the other files are what a monitoring system could see.
//
// Files written to --out:
//   - inference.jsonl: one inference-log record per request, the JSON the
//     simulator sends to Kafka (inferencelog.Record), with the categorical
//     channel feature as its index in model.Channels.
//   - points.jsonl: the signals the inference log lacks, one JSON object a
//     line: {"ts": unix ms, "service", "model", "model_version", "name",
//     "value"}, one per export interval and series (see exporter.go).
//   - changes.jsonl: the deploys and rollbacks, as changes.Change.
//   - labels.json: the scenario, its fault intervals and the deploys.
package record

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/medic-sre/medic/services/simulator/internal/changes"
	"github.com/medic-sre/medic/services/simulator/internal/control"
	"github.com/medic-sre/medic/services/simulator/internal/fault"
	"github.com/medic-sre/medic/services/simulator/internal/model"
	"github.com/medic-sre/medic/services/simulator/internal/serving"
	"github.com/medic-sre/medic/services/simulator/internal/stats"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Start is the simulated start of every recording, so that the same seed
// gives the same files.
var Start = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// tick is the step of simulated time at which traffic is generated.
const tick = 100 * time.Millisecond

// actor names the recorder in the changes it causes.
const actor = "scenario-recorder"

// Main runs `simulator record` with args and returns the exit code.
func Main(args []string) int {
	var o Options
	fs := flag.NewFlagSet("simulator record", flag.ContinueOnError)
	o.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := o.Validate(); err != nil {
		fmt.Fprintf(os.Stderr, "simulator record: %v\n", err)
		return 2
	}
	if err := Run(context.Background(), o); err != nil {
		fmt.Fprintf(os.Stderr, "simulator record: %v\n", err)
		return 1
	}
	return 0
}

// Run records one scenario into o.Out.
func Run(ctx context.Context, o Options) error {
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return err
	}
	out, err := newFiles(o.Out)
	if err != nil {
		return err
	}
	sim := newSimulation(o, out)
	runErr := sim.run(ctx)
	if err := out.close(); err != nil && runErr == nil {
		runErr = err
	}
	if runErr != nil {
		return runErr
	}
	return writeJSON(filepath.Join(o.Out, "labels.json"), sim.truth)
}

// simulation is one recording in progress.
type simulation struct {
	o       Options
	now     time.Time
	pipe    *serving.Pipeline
	ctrl    *control.Controller
	traffic *rand.Rand
	out     *files
	exp     *exporter
	truth   Truth
}

func newSimulation(o Options, out *files) *simulation {
	s := &simulation{o: o, now: Start, out: out,
		traffic: rand.New(rand.NewPCG(o.Seed, 0x5eed)),
		truth:   Truth{Scenario: o.Scenario, Seed: o.Seed, StartUnixMs: Start.UnixMilli(), EndUnixMs: Start.Add(o.Duration).UnixMilli()}}
	registry := model.NewRegistry([]string{model.V1, model.V2, model.V1Patch}, model.Backup, model.V1)
	faults := fault.NewSet()
	// Spans are made (the prediction id is the trace id) but go nowhere;
	// metrics are recorded by the exporter instead of an SDK.
	tp := sdktrace.NewTracerProvider(sdktrace.WithIDGenerator(newSeededIDs(o.Seed)))
	meter := metricnoop.NewMeterProvider().Meter("record")
	inst, _ := serving.NewInstruments(meter, meter, meter) // noop instruments cannot fail
	quiet := slog.New(slog.DiscardHandler)
	s.pipe = &serving.Pipeline{Registry: registry, Faults: faults, Metrics: inst, Log: quiet,
		Labels: &serving.Labels{Max: 1 << 22}, Stats: stats.NewWindow(time.Minute), LabelDelay: o.LabelDelay,
		Tracers: serving.Tracers{Gateway: tp.Tracer(serving.Gateway), Features: tp.Tracer(serving.FeatureService), Model: tp.Tracer(serving.ModelServer)}}
	s.pipe.Seed(o.Seed)
	s.exp = newExporter(out)
	s.pipe.Inference = s
	s.ctrl = &control.Controller{Models: map[string]*model.Registry{model.Name: registry}, Faults: faults,
		Stats: s.pipe.Stats, Log: quiet, Now: func() time.Time { return s.now }, Changes: s.change}
	return s
}

// run drives simulated time from Start to the end, acting on the
// scenario's schedule.
func (s *simulation) run(ctx context.Context) error {
	end := Start.Add(s.o.Duration)
	due, nextExport := 0.0, Start.Add(s.o.Export)
	jitter := 1.0
	for t := Start; t.Before(end); t = t.Add(tick) {
		s.now = t
		if err := s.act(ctx, t.Sub(Start)); err != nil {
			return err
		}
		if t.Sub(Start)%time.Second == 0 {
			jitter = math.Exp(0.1 * s.traffic.NormFloat64())
		}
		due += s.rate(t) * jitter * tick.Seconds()
		n := int(due)
		due -= float64(n)
		for i := range n {
			s.pipe.Serve(ctx, t.Add(tick*time.Duration(i)/time.Duration(n)))
		}
		next := t.Add(tick)
		s.now = next
		s.exp.labels(s.pipe.ArrivedLabels(ctx, next))
		if !next.Before(nextExport) {
			s.exp.flush(s.pipe, nextExport)
			nextExport = nextExport.Add(s.o.Export)
		}
	}
	return s.out.err()
}

// rate is the usual traffic at t, a sine over the compressed day, cut by
// an active throughput_drop.
func (s *simulation) rate(t time.Time) float64 {
	phase := 2 * math.Pi * float64(t.Sub(Start)) / float64(s.o.Season)
	return s.o.RPS * (1 + s.o.Swing*math.Sin(phase)) * s.pipe.TrafficShare()
}

// act deploys v1.1 and injects or clears the fault when their time comes,
// through the controller as the control API does.
func (s *simulation) act(ctx context.Context, since time.Duration) error {
	o := s.o
	switch {
	case o.DeployAt > 0 && since == o.DeployAt:
		if _, err := s.ctrl.Deploy(ctx, model.Name, model.V1Patch, actor); err != nil {
			return fmt.Errorf("benign deploy: %w", err)
		}
	case o.Scenario == Healthy:
	case since == o.FaultAt:
		if _, err := s.ctrl.Inject(ctx, o.Scenario, 0, actor); err != nil {
			return fmt.Errorf("inject %s: %w", o.Scenario, err)
		}
		s.truth.Faults = append(s.truth.Faults, FaultInterval{Kind: o.Scenario, Service: faultService(o.Scenario),
			StartUnixMs: s.now.UnixMilli()})
	case since == o.FaultAt+o.FaultFor:
		if _, err := s.ctrl.Clear(ctx, o.Scenario, actor); err != nil {
			return fmt.Errorf("clear %s: %w", o.Scenario, err)
		}
		s.truth.Faults[len(s.truth.Faults)-1].EndUnixMs = s.now.UnixMilli()
	}
	return nil
}

// change records a deploy or rollback the controller announces.
func (s *simulation) change(_ context.Context, c changes.Change) error {
	s.truth.Changes = append(s.truth.Changes, ChangeMark{Kind: c.Kind, Version: c.ModelVersion,
		AtUnixMs: c.TimeUnixNano / 1e6, Benign: c.Kind == model.KindDeploy && c.ModelVersion == model.V1Patch})
	return s.out.change(c)
}

// Write is the pipeline's inference log.
func (s *simulation) Write(r serving.Result) {
	s.exp.request(r)
	s.out.inference(r)
}
