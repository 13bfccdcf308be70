// Command remediator runs a runbook when root-cause analysis names an
// incident's cause: it acts on the watched serving system, checks in
// ClickHouse that the system recovered, and reports the outcome on the bus.
package main

import (
	"context"
	"flag"
	"time"

	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/services/remediator/internal/app"
	"github.com/medic-sre/medic/services/remediator/internal/gate"
	"github.com/medic-sre/medic/services/remediator/internal/remediate"
)

func main() {
	o := app.Options{Service: service.Options{Name: "remediator"}}
	service.Main("remediator", func(fs *flag.FlagSet) {
		o.Service.RegisterFlags(fs)
		service.StringVar(fs, &o.RunbooksFile, "runbooks", "RUNBOOKS_FILE", "", "runbooks YAML file (empty: the embedded defaults)")
		service.StringVar(fs, &o.ServingURL, "serving-url", "SERVING_URL", "", "base URL of the serving system's control API")
		service.DurationVar(fs, &o.ActionTimeout, "action-timeout", "ACTION_TIMEOUT", 10*time.Second, "timeout of each HTTP attempt of an action")
		service.DurationVar(fs, &o.VerifyInterval, "verify-interval", "VERIFY_INTERVAL", time.Second, "how often recovery is checked in ClickHouse")
		service.FloatVar(fs, &o.MinConfidence, "min-confidence", "MIN_CONFIDENCE", gate.DefaultMinConfidence, "least analysis confidence (0..1) to act on; below it the incident is escalated")
		service.FloatVar(fs, &o.MinMargin, "min-margin", "MIN_MARGIN", gate.DefaultMinMargin, "least relative lead of rank 1 over rank 2, (s1-s2)/s1, to act on; below it the incident is escalated")
		service.DurationVar(fs, &o.IncidentWait, "incident-wait", "INCIDENT_WAIT", remediate.DefaultIncidentWait, "how long after an analysis was published its incident may be missing from the remediator's view before the analysis is refused")
		service.BoolVar(fs, &o.DryRun, "dry-run", "DRY_RUN", false, "log and publish what would be done, without calling any action")
	}, func(ctx context.Context) error { return app.Run(ctx, o) })
}
