package control

import (
	"encoding/json"
	"sync"
)

// Sink keeps the JSON bodies posted to the webhook, oldest first, up to a
// bound past which the oldest are forgotten.
type Sink struct {
	max  int
	mu   sync.Mutex
	recv []json.RawMessage
}

// NewSink keeps at most max bodies.
func NewSink(max int) *Sink { return &Sink{max: max} }

// Add records one body.
func (s *Sink) Add(body json.RawMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recv = append(s.recv, body)
	if over := len(s.recv) - s.max; over > 0 {
		s.recv = append(s.recv[:0:0], s.recv[over:]...)
	}
}

// Len is the number of bodies kept.
func (s *Sink) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.recv)
}

// List returns the bodies received, in order.
func (s *Sink) List() []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append(make([]json.RawMessage, 0, len(s.recv)), s.recv...)
}
