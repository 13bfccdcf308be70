package app

import (
	"flag"

	"github.com/medic-sre/medic/pkg/service"
)

// Name is the service's name, in logs, metrics and its NATS user.
const Name = "archiver"

// Options is the archiver's configuration: the shared service options.
type Options struct {
	Service service.Options
}

// RegisterFlags declares the archiver's flags, each with an env twin.
func (o *Options) RegisterFlags(fs *flag.FlagSet) {
	o.Service.Name = Name
	o.Service.RegisterFlags(fs)
}

// Validate checks the options before anything connects. The archiver has
// no options of its own: it checks the shared ones, with ClickHouse
// required, as the runtime will.
func (o *Options) Validate() error {
	s := o.Service
	s.Name, s.NeedsClickHouse = Name, true
	return s.Validate()
}
