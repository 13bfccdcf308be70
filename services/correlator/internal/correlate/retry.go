package correlate

import (
	"sync"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
)

// UnknownIncidentWait is how long an event naming an incident (or an
// anomaly) that the correlator does not know is retried before it is
// dead-lettered. Such an event is most likely early: the event that creates
// its incident failed and waits for its own redelivery, which comes after
// the consumer's AckWait when a replica died, after the bus's backoff (up
// to 15 s) when a step failed, and up to StaleClaimAge after its group was
// claimed when the group's opener was lost. The wait outlasts all of them.
const UnknownIncidentWait = 3 * time.Minute

// unknownWaits remembers, per event id, when this process first found the
// event's incident unknown. An event waits UnknownIncidentWait from the
// later of that moment and the event's own time: the event's time alone
// would dead-letter at once an event that sat in the stream through a
// correlator outage and came in just before its incident's creator's
// retry. Memory only ever lengthens the wait: a restart starts it over, and
// never cuts it short.
type unknownWaits struct {
	mu    sync.Mutex
	first map[string]time.Time
}

func newUnknownWaits() *unknownWaits { return &unknownWaits{first: map[string]time.Time{}} }

// waited is how long ev has waited for its incident as of now.
func (w *unknownWaits) waited(ev cloudevents.Event, now time.Time, limit time.Duration) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	for id, at := range w.first {
		// Events that another replica settled are never forgotten here.
		if now.Sub(at) > 2*limit {
			delete(w.first, id)
		}
	}
	first, ok := w.first[ev.ID()]
	if !ok {
		first = now
		w.first[ev.ID()] = now
	}
	if t := ev.Time(); t.After(first) {
		first = t
	}
	return now.Sub(first)
}

// forget drops an event once it is settled: handled, or dead-lettered.
func (w *unknownWaits) forget(eventID string) {
	w.mu.Lock()
	delete(w.first, eventID)
	w.mu.Unlock()
}

// unknownRetryIn is the redelivery delay of an event that waits for its
// incident: short at first, when the incident is most likely only a
// moment late, and growing to the bus's longest backoff.
func unknownRetryIn(waited time.Duration) time.Duration {
	return min(max(waited/2, time.Second), 15*time.Second)
}
