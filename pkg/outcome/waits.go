package outcome

import (
	"sync"
	"time"
)

// Waits measures how long events have waited for something they need
// (their incident, say) before a handler gives up on them. An event waits
// from the later of its own time and when this process first saw it
// waiting: the event's time alone would give up at once on an event that
// sat in the stream through an outage of this service. The memory only
// ever lengthens a wait: a restart starts it over, never cuts it short.
type Waits struct {
	mu    sync.Mutex
	first map[string]time.Time
}

// NewWaits returns an empty Waits.
func NewWaits() *Waits { return &Waits{first: map[string]time.Time{}} }

// Waited is how long the event id, of time at, has waited as of now.
// Entries older than twice limit are dropped, since another replica may
// have settled their events.
func (w *Waits) Waited(id string, at, now time.Time, limit time.Duration) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	for id, at := range w.first {
		if now.Sub(at) > 2*limit {
			delete(w.first, id)
		}
	}
	first, ok := w.first[id]
	if !ok {
		first = now
		w.first[id] = now
	}
	if at.After(first) {
		first = at
	}
	return now.Sub(first)
}

// Forget drops an event once it is settled: handled, or dead-lettered.
func (w *Waits) Forget(eventID string) {
	w.mu.Lock()
	delete(w.first, eventID)
	w.mu.Unlock()
}
