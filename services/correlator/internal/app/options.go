package app

import (
	"flag"
	"time"

	"github.com/medic-sre/medic/pkg/flagenv"
	"github.com/medic-sre/medic/pkg/service"
)

// Name is the service's name, in logs, metrics and its CloudEvent source.
const Name = "correlator"

// Options is the correlator's configuration.
type Options struct {
	Service service.Options
	// ConfigPath is the grouping configuration file; empty uses the
	// embedded defaults.
	ConfigPath string
	// unknownIncidentWait shortens correlate.UnknownIncidentWait in tests.
	unknownIncidentWait time.Duration
}

// RegisterFlags declares the correlator's flags, each with an env twin.
func (o *Options) RegisterFlags(fs *flag.FlagSet) {
	o.Service.Name = Name
	o.Service.RegisterFlags(fs)
	flagenv.StringVar(fs, &o.ConfigPath, "config", "CORRELATOR_CONFIG", "", "grouping config YAML (empty: group by model)")
}

// Validate checks the options before anything connects: the shared ones
// (the correlator needs NATS alone). The grouping file is checked when it
// loads, with its file, line and field.
func (o *Options) Validate() error {
	s := o.Service
	if s.Name == "" {
		s.Name = Name
	}
	return s.Validate()
}
