package correlate

import "sync"

// UnknownIncidentRetries is how many times an event naming an unknown
// incident is retried (with the bus's growing backoff) before it is
// dead-lettered: enough to ride out events arriving out of order.
const UnknownIncidentRetries = 3

// retryBudget counts, per event id, the attempts spent on a missing
// incident. It lives in memory: after a restart an event gets a fresh
// budget, which only delays its dead-lettering.
type retryBudget struct {
	mu    sync.Mutex
	limit int
	spent map[string]int
}

func newRetryBudget(limit int) *retryBudget {
	return &retryBudget{limit: limit, spent: map[string]int{}}
}

// spend records one attempt; ok is false once the budget is used up, and
// the event is forgotten then, since it will be dead-lettered.
func (b *retryBudget) spend(eventID string) (n int, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n = b.spent[eventID] + 1
	if n > b.limit {
		delete(b.spent, eventID)
		return n, false
	}
	b.spent[eventID] = n
	return n, true
}

// forget drops an event whose incident turned up after all.
func (b *retryBudget) forget(eventID string) {
	b.mu.Lock()
	delete(b.spent, eventID)
	b.mu.Unlock()
}
