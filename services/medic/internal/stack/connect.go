package stack

import "github.com/nats-io/nats.go"

// ConnectNATS connects to the stack's NATS server as an observer, for
// following the pipeline's events.
func (s *Stack) ConnectNATS() (*nats.Conn, error) {
	return nats.Connect(s.NATSURL, nats.Name("medic-demo"))
}
