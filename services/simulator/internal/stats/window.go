// Package stats keeps the recent requests of the gateway and summarises a
// trailing window of them, which is what a runbook checks after acting.
package stats

import (
	"math"
	"slices"
	"sync"
	"time"
)

// Summary describes the requests in a window.
type Summary struct {
	WindowSeconds float64 `json:"window_seconds"`
	Requests      int     `json:"requests"`
	ErrorRate     float64 `json:"error_rate"`
	P95LatencyMs  float64 `json:"p95_latency_ms"`
}

type record struct {
	at        time.Time
	latencyMs float64
	failed    bool
}

// Window remembers requests for up to Keep; it is safe for concurrent use.
type Window struct {
	keep time.Duration
	mu   sync.Mutex
	recs []record // in time order
}

// NewWindow remembers requests for keep.
func NewWindow(keep time.Duration) *Window { return &Window{keep: keep} }

// Keep is the longest window Summary can answer for.
func (w *Window) Keep() time.Duration { return w.keep }

// Record adds one request; requests come in time order.
func (w *Window) Record(at time.Time, latencyMs float64, failed bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.recs = append(w.recs, record{at: at, latencyMs: latencyMs, failed: failed})
	// Prune in chunks, so appending stays cheap.
	if len(w.recs)%1024 == 0 {
		w.prune(at)
	}
}

func (w *Window) prune(now time.Time) {
	cut := w.firstAfter(now.Add(-w.keep))
	w.recs = append(w.recs[:0], w.recs[cut:]...)
}

// firstAfter is the index of the first record later than t.
func (w *Window) firstAfter(t time.Time) int {
	i, _ := slices.BinarySearchFunc(w.recs, t, func(r record, t time.Time) int {
		if r.at.After(t) {
			return 1
		}
		return -1
	})
	return i
}

// Summary covers the requests in (now-window, now].
func (w *Window) Summary(now time.Time, window time.Duration) Summary {
	w.mu.Lock()
	recs := w.recs[w.firstAfter(now.Add(-window)):]
	lat := make([]float64, 0, len(recs))
	failed := 0
	for _, r := range recs {
		if r.at.After(now) {
			break
		}
		lat = append(lat, r.latencyMs)
		if r.failed {
			failed++
		}
	}
	w.mu.Unlock()
	s := Summary{WindowSeconds: window.Seconds(), Requests: len(lat)}
	if len(lat) == 0 {
		return s
	}
	s.ErrorRate = float64(failed) / float64(len(lat))
	slices.Sort(lat)
	s.P95LatencyMs = lat[int(math.Ceil(0.95*float64(len(lat))))-1]
	return s
}
