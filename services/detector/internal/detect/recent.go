package detect

// recent remembers the last n event ids, oldest evicted first.
type recent struct {
	ids  map[string]struct{}
	ring []string
	next int
}

func newRecent(n int) *recent {
	return &recent{ids: make(map[string]struct{}, n), ring: make([]string, n)}
}

// add records id and reports whether it was new.
func (r *recent) add(id string) bool {
	if _, ok := r.ids[id]; ok {
		return false
	}
	if old := r.ring[r.next]; old != "" {
		delete(r.ids, old)
	}
	r.ring[r.next] = id
	r.ids[id] = struct{}{}
	r.next = (r.next + 1) % len(r.ring)
	return true
}

// seen reports whether id is remembered, without adding it.
func (r *recent) seen(id string) bool {
	_, ok := r.ids[id]
	return ok
}
