package engine

// Sides of a ratio rule's samples (sample.k).
const (
	numerator   = 0
	denominator = 1
)

// ratio is sum(numerator) / sum(denominator). Where the ingest service
// turns counters into per-second rates, that is the share of events that
// the numerator counts (errors per request), whatever the export interval.
// min_points counts the denominator's points: a numerator counter that has
// never moved may not be exported at all. A zero denominator (no traffic)
// has no value.
func ratio(pts []sample, _ *scratch) reading {
	var num, den, n float64
	for _, p := range pts {
		if p.k == denominator {
			den += p.v
			n++
		} else {
			num += p.v
		}
	}
	if den == 0 {
		return reading{n: n}
	}
	return reading{v: num / den, n: n, ok: true}
}
