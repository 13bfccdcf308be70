package query

import (
	"context"
	"math"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// symptomBuckets is the symptom of one service as one value per 1-second
// bucket (b, v) with its point count n, each point counted once: a plain
// metric's mean, or a ratio's sum of numerator over sum of denominator. A
// second whose denominator sums to 0 (no requests) has no value. Its
// parameters are symptomArgs.
const symptomBuckets = `SELECT b, s / total AS v, n FROM (
  SELECT intDiv(time_unix_nano, 1000000000) AS b, ` + symptomMass + `
  FROM (` + symptomPoints + `)
  GROUP BY b
)
WHERE total > 0`

// Coverage is how much data a range of the symptom holds: the seconds
// (1-second buckets) with a value, the points (a ratio's are its
// denominator's), and the mean and population standard deviation of the
// per-second values.
type Coverage struct {
	Seconds      uint64
	Points       uint64
	Mean, StdDev float64
}

// SymptomCoverage measures the symptom over rg.
func (r *Reader) SymptomCoverage(ctx context.Context, sym Symptom, rg Range) (Coverage, error) {
	// An empty range gives NaN means; they stay NaN only while Seconds is 0.
	buckets, args := sym.buckets(rg)
	q := `SELECT count(), sum(n), avg(v), stddevPop(v) FROM (` + buckets + `)`
	var c Coverage
	err := r.each(ctx, "symptom coverage", q, func(rows driver.Rows) error {
		return rows.Scan(&c.Seconds, &c.Points, &c.Mean, &c.StdDev)
	}, args...)
	if c.Seconds == 0 {
		c.Mean, c.StdDev = 0, 0
	}
	return c, err
}

// Onset rules: a second is anomalous when its mean is more than OnsetSigmas
// standard deviations of the baseline from the baseline's mean, and the
// onset is the first anomalous second that starts a run of OnsetRun seconds
// of which at least OnsetHits are anomalous, so that one noisy second
// before the fault is not taken for its start.
const (
	OnsetSigmas = 3.0
	OnsetRun    = 5
	OnsetHits   = 3
)

// SymptomOnset returns the first second in rg at which the symptom departs
// from baseline (see the onset rules), and false when no second in rg does.
func (r *Reader) SymptomOnset(ctx context.Context, sym Symptom, rg Range, baseline Coverage) (int64, bool, error) {
	// Each second is counted toward the runs that start at it and at the
	// OnsetRun-1 seconds before it (arrayJoin over range), so one GROUP BY
	// gives every run's hits without window functions, which 18.16 lacks.
	buckets, args := sym.buckets(rg)
	q := `SELECT min(start), count() FROM (
  SELECT b - k AS start, sum(hit) AS hits, max(k = 0 AND hit = 1) AS first_hit
  FROM (
    SELECT b, abs(v - ?) > ? AS hit, arrayJoin(range(?)) AS k FROM (` + buckets + `)
  )
  GROUP BY start
)
WHERE first_hit = 1 AND hits >= ?`
	var start int64
	var n uint64
	threshold := OnsetSigmas * baseline.StdDev
	if math.IsNaN(threshold) {
		threshold = 0
	}
	err := r.each(ctx, "symptom onset", q, func(rows driver.Rows) error {
		return rows.Scan(&start, &n)
	}, append(append([]any{baseline.Mean, threshold, uint8(OnsetRun)}, args...), uint8(OnsetHits))...)
	return start, n > 0, err
}
