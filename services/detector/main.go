// Command detector turns telemetry into anomalies: it archives telemetry
// points in ClickHouse, evaluates alerting rules over them on event time,
// and publishes anomaly.detected and anomaly.resolved events.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/services/detector/internal/app"
	"github.com/medic-sre/medic/services/detector/internal/detect"
	"github.com/medic-sre/medic/services/detector/internal/engine"
)

func main() {
	opts := app.Options{Service: service.Options{Name: "detector"}}
	fs := flag.NewFlagSet("detector", flag.ExitOnError)
	opts.Service.RegisterFlags(fs)
	service.StringVar(fs, &opts.RulesFile, "rules", "RULES_FILE", "", "alerting rules YAML file (default: the embedded rules)")
	service.DurationVar(fs, &opts.EvalInterval, "eval-interval", "EVAL_INTERVAL", engine.DefaultStep, "rule evaluation step, on event time")
	service.DurationVar(fs, &opts.MaxClockSkew, "max-clock-skew", "MAX_CLOCK_SKEW", detect.DefaultMaxClockSkew,
		"points stamped later than now plus this are archived but not evaluated")
	if err := service.Parse(fs, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "detector:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := app.Run(ctx, opts); err != nil {
		fmt.Fprintln(os.Stderr, "detector:", err)
		os.Exit(1)
	}
}
