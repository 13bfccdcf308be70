package bus

import (
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// failureCounts counts, per message (stream sequence), the handler failures
// that happened while the service was healthy: those are what MaxDeliver
// bounds. Deliveries during an outage raise the server's delivery count but
// not this one. It lives in memory, so a restart grants a message a fresh
// budget, which only delays its dead-lettering.
type failureCounts struct {
	mu sync.Mutex
	n  map[uint64]int
}

func newFailureCounts() *failureCounts { return &failureCounts{n: map[uint64]int{}} }

// add records one healthy failure of m and returns the count so far.
func (f *failureCounts) add(m jetstream.Msg) int {
	seq, ok := streamSeq(m)
	if !ok {
		return int(numDelivered(m))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n[seq]++
	return f.n[seq]
}

// forget drops m once it is settled for good (acked or dead-lettered).
func (f *failureCounts) forget(m jetstream.Msg) {
	if seq, ok := streamSeq(m); ok {
		f.mu.Lock()
		delete(f.n, seq)
		f.mu.Unlock()
	}
}

func streamSeq(m jetstream.Msg) (uint64, bool) {
	md, err := m.Metadata()
	if err != nil {
		return 0, false
	}
	return md.Sequence.Stream, true
}
