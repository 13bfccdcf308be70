// Command detector turns telemetry into anomalies: it evaluates alerting
// rules over telemetry points on event time and publishes anomaly.detected
// and anomaly.resolved events. It needs NATS alone; the archiver writes the
// points to ClickHouse.
package main

import (
	"context"
	"flag"

	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/services/detector/internal/app"
	"github.com/medic-sre/medic/services/detector/internal/detect"
	"github.com/medic-sre/medic/services/detector/internal/engine"
)

func main() {
	opts := app.Options{Service: service.Options{Name: "detector"}}
	service.Main("detector", func(fs *flag.FlagSet) {
		opts.Service.RegisterFlags(fs)
		service.StringVar(fs, &opts.RulesFile, "rules", "RULES_FILE", "", "alerting rules YAML file (default: the embedded rules)")
		service.DurationVar(fs, &opts.EvalInterval, "eval-interval", "EVAL_INTERVAL", engine.DefaultStep, "rule evaluation step, on event time")
		service.DurationVar(fs, &opts.MaxClockSkew, "max-clock-skew", "MAX_CLOCK_SKEW", detect.DefaultMaxClockSkew,
			"points stamped later than now plus this are not evaluated")
	}, func(ctx context.Context) error { return app.Run(ctx, opts) })
}
