// Package app wires the detector: rules, engine and batch handler on the
// shared service runtime.
package app

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/services/detector/internal/detect"
	"github.com/medic-sre/medic/services/detector/internal/engine"
	"github.com/medic-sre/medic/services/detector/internal/rules"
)

// Options configure the detector.
type Options struct {
	Service service.Options
	// RulesFile is a rules YAML file; empty means the embedded defaults.
	RulesFile string
	// EvalInterval is the evaluation step on event time.
	EvalInterval time.Duration
}

// Run runs the detector until ctx ends.
func Run(ctx context.Context, o Options) error { return RunWithListener(ctx, o, nil) }

// RunWithListener is Run with the HTTP server on ln (tests pass one on
// port 0). Rules are loaded before anything connects, so that a bad rules
// file fails at once with its file, line and field.
func RunWithListener(ctx context.Context, o Options, ln net.Listener) error {
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
		d := detect.New(rt.Log, rt.Store, rt.Bus, eng)
		return rt.ConsumeBatch(ctx, detect.Consumer(), d.Handle)
	})
}
