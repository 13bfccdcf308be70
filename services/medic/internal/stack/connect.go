package stack

import (
	"fmt"
	"os"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/nats-io/nats.go"
)

// ConnectNATS connects to the stack's NATS server as an observer, for
// following the pipeline's events. On the embedded server it logs in as the
// CLI user (bus.UserCLI), which may follow events and read streams but
// publish no events; on an external one, with this process's NATS_USER,
// NATS_PASSWORD or NATS_CREDS.
func (s *Stack) ConnectNATS() (*nats.Conn, error) {
	creds := bus.Credentials{User: os.Getenv("NATS_USER"), Password: os.Getenv("NATS_PASSWORD"), File: os.Getenv("NATS_CREDS")}
	if u, ok := s.logins[bus.UserCLI]; ok {
		creds = bus.Credentials{User: u.Name, Password: u.Password}
	}
	nc, err := nats.Connect(s.NATSURL, append(creds.Options(), nats.Name("medic-demo"))...)
	if err != nil {
		return nil, fmt.Errorf("nats %s: %w", s.NATSURL, err)
	}
	return nc, nil
}
