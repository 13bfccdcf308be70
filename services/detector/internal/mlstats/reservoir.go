package mlstats

import "math/rand/v2"

// Reservoir keeps a uniform random sample of at most a fixed number of the
// finite values added to it (Vitter's Algorithm R), so a window of any length
// costs 8 bytes per kept value. A fixed seed makes the sample reproducible.
type Reservoir struct {
	values []float64
	seen   uint64
	rng    *rand.Rand
}

// NewReservoir returns an empty reservoir of the given capacity (at least 1).
func NewReservoir(capacity int, seed uint64) *Reservoir {
	capacity = max(capacity, 1)
	return &Reservoir{
		values: make([]float64, 0, capacity),
		rng:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
	}
}

// Add offers a value; non-finite values are ignored.
func (r *Reservoir) Add(v float64) {
	if !isFinite(v) {
		return
	}
	r.seen++
	if len(r.values) < cap(r.values) {
		r.values = append(r.values, v)
		return
	}
	// The n-th value replaces a kept one with probability capacity/n.
	if j := r.rng.Uint64N(r.seen); j < uint64(len(r.values)) {
		r.values[j] = v
	}
}

// Seen is the number of finite values offered so far.
func (r *Reservoir) Seen() uint64 { return r.seen }

// Values returns a copy of the sample, in no particular order.
func (r *Reservoir) Values() []float64 {
	out := make([]float64, len(r.values))
	copy(out, r.values)
	return out
}

// Reset empties the reservoir and keeps its capacity and random stream.
func (r *Reservoir) Reset() {
	r.values = r.values[:0]
	r.seen = 0
}
