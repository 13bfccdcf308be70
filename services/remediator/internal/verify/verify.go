// Package verify judges whether a remediation worked: it polls the metrics
// table until a metric's aggregate over the newest points drops below a
// threshold, or gives up at a timeout.
package verify

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/medic-sre/medic/services/remediator/internal/runbook"
)

// ErrNotRecovered means the metric stayed above its threshold (or too few
// points arrived) until the timeout.
var ErrNotRecovered = errors.New("system did not recover")

// Result is the last measurement taken.
type Result struct {
	Value  float64
	Points uint64
}

// Verifier runs recovery checks against ClickHouse.
type Verifier struct {
	Conn     driver.Conn
	Interval time.Duration
	// Now is the clock; tests leave it nil.
	Now func() time.Time
}

// Wait polls until the check passes over points newer than since (unix ns)
// and within the check's window, or until its timeout.
func (v *Verifier) Wait(ctx context.Context, c runbook.Verify, since int64) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	tick := time.NewTicker(max(v.Interval, 10*time.Millisecond))
	defer tick.Stop()
	var last Result
	for {
		r, err := v.measure(ctx, c, since)
		if err == nil {
			last = r
			if r.Points >= uint64(c.MinPoints) && r.Value < c.Below {
				return r, nil
			}
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return last, fmt.Errorf("%w within %s: last query failed: %w", ErrNotRecovered, c.Timeout, err)
			}
			return last, fmt.Errorf("%w within %s: %s(%s) of service %q = %.4g over %d points (need < %g over >= %d)",
				ErrNotRecovered, c.Timeout, c.Aggregate, c.Metric, c.Service, last.Value, last.Points, c.Below, c.MinPoints)
		case <-tick.C:
		}
	}
}

// measure aggregates the points newer than both since and the window start.
func (v *Verifier) measure(ctx context.Context, c runbook.Verify, since int64) (Result, error) {
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	from := max(since, now().Add(-c.Window).UnixNano())
	// A redelivered telemetry batch writes its points again under the same
	// (event_id, point_index), and metrics folds them only when parts
	// merge: the subquery keeps one row per point, so copies neither count
	// towards min_points nor weigh in the aggregate. LIMIT BY works on 18.16
	// and costs less than FINAL. The aggregate comes from a fixed list
	// (checked at load), so it can be spliced in; every value is a bound
	// parameter.
	q := fmt.Sprintf(`SELECT count() AS n, %s(value) AS v FROM (
		SELECT event_id, point_index, value FROM metrics
		WHERE name = ? AND (? = '' OR service = ?) AND time_unix_nano > ?
		LIMIT 1 BY event_id, point_index)`, c.Aggregate)
	var r Result
	if err := v.Conn.QueryRow(ctx, q, c.Metric, c.Service, c.Service, from).Scan(&r.Points, &r.Value); err != nil {
		return r, fmt.Errorf("verify query on metrics: %w", err)
	}
	if math.IsNaN(r.Value) {
		r.Value = math.Inf(1)
	}
	return r, nil
}
