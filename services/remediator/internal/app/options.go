package app

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/medic-sre/medic/pkg/flagenv"
	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/services/remediator/internal/gate"
	"github.com/medic-sre/medic/services/remediator/internal/remediate"
)

// Name is the service's name, in logs, metrics and its NATS user.
const Name = "remediator"

// Options configure the remediator.
type Options struct {
	Service service.Options
	// RunbooksFile replaces the embedded default runbooks when set.
	RunbooksFile string
	// ServingURL is the base URL of the watched serving system's control API.
	ServingURL string
	// DryRun logs and publishes what would be done without calling actions.
	DryRun bool
	// ActionTimeout bounds each HTTP attempt of an action.
	ActionTimeout time.Duration
	// VerifyInterval is how often the recovery check queries ClickHouse.
	VerifyInterval time.Duration
	// MinConfidence and MinMargin are the gate: below either, the incident
	// is escalated to people instead of acted on. Runbooks may override
	// them (match.min_confidence, match.min_margin).
	MinConfidence float64
	MinMargin     float64
	// IncidentWait is how long after an analysis was published its
	// incident may still be missing from the view before it is refused.
	IncidentWait time.Duration
}

// RegisterFlags declares the remediator's flags, each with an env twin.
func (o *Options) RegisterFlags(fs *flag.FlagSet) {
	o.Service.Name = Name
	o.Service.RegisterFlags(fs)
	flagenv.StringVar(fs, &o.RunbooksFile, "runbooks", "RUNBOOKS_FILE", "", "runbooks YAML file (empty: the embedded defaults)")
	flagenv.StringVar(fs, &o.ServingURL, "serving-url", "SERVING_URL", "", "base URL of the serving system's control API")
	flagenv.DurationVar(fs, &o.ActionTimeout, "action-timeout", "ACTION_TIMEOUT", 10*time.Second, "timeout of each HTTP attempt of an action")
	flagenv.DurationVar(fs, &o.VerifyInterval, "verify-interval", "VERIFY_INTERVAL", time.Second, "how often recovery is checked in ClickHouse")
	flagenv.FloatVar(fs, &o.MinConfidence, "min-confidence", "MIN_CONFIDENCE", gate.DefaultMinConfidence, "least analysis confidence (0..1) to act on; below it the incident is escalated")
	flagenv.FloatVar(fs, &o.MinMargin, "min-margin", "MIN_MARGIN", gate.DefaultMinMargin, "least relative lead of rank 1 over rank 2, (s1-s2)/s1, to act on; below it the incident is escalated")
	flagenv.DurationVar(fs, &o.IncidentWait, "incident-wait", "INCIDENT_WAIT", remediate.DefaultIncidentWait, "how long after an analysis was published its incident may be missing from the remediator's view before the analysis is refused")
	flagenv.BoolVar(fs, &o.DryRun, "dry-run", "DRY_RUN", false, "log and publish what would be done, without calling any action")
}

// Validate checks the remediator's own options; the runbooks file is
// checked when it loads, with its file and line.
func (o *Options) Validate() error {
	if o.MinConfidence < 0 || o.MinConfidence > 1 {
		return fmt.Errorf("--min-confidence (MIN_CONFIDENCE) %g: must be between 0 and 1", o.MinConfidence)
	}
	if o.MinMargin < 0 || o.MinMargin > 1 {
		return fmt.Errorf("--min-margin (MIN_MARGIN) %g: must be between 0 and 1", o.MinMargin)
	}
	if o.ServingURL == "" && !o.DryRun {
		return errors.New("no serving system to act on: set --serving-url (SERVING_URL), or use --dry-run")
	}
	return nil
}
