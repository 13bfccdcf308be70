package control

import (
	"bytes"
	"container/list"
	"crypto/sha256"
	"io"
	"net/http"
	"sync"
)

// IdempotencyHeader names the key under which a caller may repeat a
// mutating request: Medic's remediator retries a step after a timeout or a
// 5xx under the same key, and must get the first answer back rather than
// have the action run twice (a second rollback answers 409).
const IdempotencyHeader = "Idempotency-Key"

// ReplayedHeader marks an answer replayed from an earlier request.
const ReplayedHeader = "Idempotent-Replayed"

// DefaultIdempotencyKeys is how many keys the control API remembers.
const DefaultIdempotencyKeys = 1000

// replayed is a stored answer, or one being computed (done still open).
type replayed struct {
	key         string
	fingerprint [32]byte
	done        chan struct{}
	code        int
	contentType string
	body        []byte
	stored      bool // false when the answer was not worth keeping
}

// idempotent wraps a handler so that a POST, PUT or DELETE carrying an
// Idempotency-Key runs once per key, method and path: a repeat gets the
// stored answer. The newest size keys are kept.
type idempotent struct {
	next  http.Handler
	size  int
	mu    sync.Mutex
	order *list.List // of *replayed, newest first
	byKey map[string]*list.Element
}

// Idempotent wraps next; size bounds the keys remembered.
func Idempotent(next http.Handler, size int) http.Handler {
	return &idempotent{next: next, size: max(size, 1), order: list.New(), byKey: map[string]*list.Element{}}
}

func (h *idempotent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get(IdempotencyHeader)
	if key == "" || (r.Method != http.MethodPost && r.Method != http.MethodPut && r.Method != http.MethodDelete) {
		h.next.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		writeError(w, http.StatusBadRequest, "request body unreadable")
		return
	}
	fp := sha256.Sum256(body)
	// A key answers for one request, so it is scoped to method and path.
	key = r.Method + " " + r.URL.Path + " " + key
	for {
		e, first := h.entry(key, fp)
		if first {
			r.Body = io.NopCloser(bytes.NewReader(body))
			h.run(w, r, e)
			return
		}
		select {
		case <-e.done:
		case <-r.Context().Done():
			return
		}
		if e.stored || e.fingerprint != fp {
			replay(w, e, fp)
			return
		}
		// The first answer was a server error and was forgotten: run anew.
	}
}

// entry returns the key's entry, creating it (first is true) when new.
func (h *idempotent) entry(key string, fp [32]byte) (e *replayed, first bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if el, ok := h.byKey[key]; ok {
		h.order.MoveToFront(el)
		return el.Value.(*replayed), false
	}
	e = &replayed{key: key, fingerprint: fp, done: make(chan struct{})}
	h.byKey[key] = h.order.PushFront(e)
	if h.order.Len() > h.size {
		oldest := h.order.Back()
		h.order.Remove(oldest)
		delete(h.byKey, oldest.Value.(*replayed).key)
	}
	return e, true
}

// run serves the first request of a key and stores its answer. A 5xx is
// not stored: the action may not have happened, so a retry runs it.
func (h *idempotent) run(w http.ResponseWriter, r *http.Request, e *replayed) {
	rec := &recorder{ResponseWriter: w, code: http.StatusOK}
	h.next.ServeHTTP(rec, r)
	e.code, e.contentType, e.body = rec.code, rec.Header().Get("Content-Type"), rec.body.Bytes()
	e.stored = e.code < 500
	if !e.stored {
		h.forget(e)
	}
	close(e.done)
}

// replay writes the stored answer, or 422 when the key came with another
// request body: the caller reused a key by mistake.
func replay(w http.ResponseWriter, e *replayed, fp [32]byte) {
	if e.fingerprint != fp {
		writeError(w, http.StatusUnprocessableEntity, "Idempotency-Key was already used with a different request body")
		return
	}
	w.Header().Set("Content-Type", e.contentType)
	w.Header().Set(ReplayedHeader, "true")
	w.WriteHeader(e.code)
	_, _ = w.Write(e.body)
}

// forget drops e, unless a newer entry took its key.
func (h *idempotent) forget(e *replayed) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if el, ok := h.byKey[e.key]; ok && el.Value == e {
		h.order.Remove(el)
		delete(h.byKey, e.key)
	}
}

// recorder passes an answer through and keeps a copy of it.
type recorder struct {
	http.ResponseWriter
	code int
	body bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}
