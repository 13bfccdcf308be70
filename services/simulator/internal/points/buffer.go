// Package points buffers the simulator's telemetry points and publishes them
// in batches. The request loop only appends under a mutex: publishing
// happens elsewhere, so a slow or absent NATS never blocks requests, and
// what cannot be published is bounded by dropping the oldest points.
package points

import (
	"sync"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// label is a ground-truth point waiting for its arrival time.
type label struct {
	due   time.Time
	point events.Point
}

// Buffer holds points not yet published and labels not yet arrived; it is
// safe for concurrent use.
type Buffer struct {
	max int
	// droppedTotal is medic_simulator_points_dropped_total.
	droppedTotal prometheus.Counter

	mu      sync.Mutex
	points  []events.Point
	labels  []label // in due order: every label waits the same delay
	dropped uint64
}

// NewBuffer keeps at most max points (and at most max pending labels). It
// registers medic_simulator_points_dropped_total on r (nowhere if r is nil).
func NewBuffer(max int, r prometheus.Registerer) *Buffer {
	return &Buffer{max: max, droppedTotal: promauto.With(r).NewCounter(prometheus.CounterOpts{
		Name: "medic_simulator_points_dropped_total",
		Help: "Telemetry points dropped because they could not be published in time.",
	})}
}

// Add queues points for the next batch.
func (b *Buffer) Add(pts ...events.Point) {
	b.mu.Lock()
	b.points = append(b.points, pts...)
	b.trim()
	b.mu.Unlock()
}

// AddLabel queues a label point that arrives at due; its time becomes the
// arrival time.
func (b *Buffer) AddLabel(due time.Time, p events.Point) {
	b.mu.Lock()
	b.labels = append(b.labels, label{due: due, point: p})
	if over := len(b.labels) - b.max; over > 0 {
		b.labels = b.labels[over:]
		b.dropped += uint64(over)
	}
	b.mu.Unlock()
}

// Take removes and returns every queued point, after moving the labels that
// arrived by now into them.
func (b *Buffer) Take(now time.Time) []events.Point {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for n < len(b.labels) && !b.labels[n].due.After(now) {
		p := b.labels[n].point
		p.TimeUnixNano = b.labels[n].due.UnixNano()
		b.points = append(b.points, p)
		n++
	}
	b.labels = append(b.labels[:0], b.labels[n:]...)
	out := b.points
	b.points = nil
	return out
}

// drop counts points dropped outside the buffer (unsent batches past the
// bound).
func (b *Buffer) drop(n int) {
	b.mu.Lock()
	b.dropped += uint64(n)
	b.mu.Unlock()
	b.droppedTotal.Add(float64(n))
}

// Len is the number of points waiting to be published.
func (b *Buffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.points)
}

// Dropped counts the points dropped so far.
func (b *Buffer) Dropped() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dropped
}

func (b *Buffer) trim() {
	if over := len(b.points) - b.max; over > 0 {
		b.points = append(b.points[:0:0], b.points[over:]...)
		b.dropped += uint64(over)
		b.droppedTotal.Add(float64(over))
	}
}
