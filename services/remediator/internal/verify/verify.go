// Package verify judges whether a remediation worked: it polls the metrics
// table until a metric's aggregate over the newest points (or a ratio of two
// metrics' sums, such as errors over requests) drops below a threshold, or
// gives up at a timeout.
package verify

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/medic-sre/medic/pkg/metricexpr"
	"github.com/medic-sre/medic/services/remediator/internal/runbook"
)

// ErrNotRecovered means the metric stayed above its threshold (or too few
// points arrived) until the timeout.
var ErrNotRecovered = errors.New("system did not recover")

// ErrUnverifiable means the check's queries were failing when its timeout
// came: ClickHouse was unreachable, so recovery was not judged either way.
// It is no verdict on the remediation; check again once ClickHouse is back.
var ErrUnverifiable = errors.New("could not verify: ClickHouse unreachable")

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
// and within the check's window, or until its timeout. A failing query is
// no verdict: Wait keeps polling through it. On a timeout the error reports
// the last value measured, never the query that the timeout cut short; it
// is ErrUnverifiable when the last query before the timeout failed, else
// ErrNotRecovered.
func (v *Verifier) Wait(ctx context.Context, c runbook.Verify, since int64) (Result, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	tick := time.NewTicker(max(v.Interval, 10*time.Millisecond))
	defer tick.Stop()
	var (
		p       progress
		lastErr error
	)
	for {
		r, err := v.measure(ctx, c, since)
		switch {
		case err == nil:
			p.last, p.checks, lastErr = r, p.checks+1, nil
			if r.Points >= uint64(c.MinPoints) && r.Value < c.Below {
				return r, nil
			}
		case ctx.Err() == nil && time.Now().Before(deadline):
			// A query that the timeout interrupted says nothing about
			// the system; any other failure is worth reporting. The
			// driver's socket deadline is the context's and may fire
			// before the context reports it, hence the clock.
			lastErr = err
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return p.last, fmt.Errorf("%w: %s", ErrUnverifiable, p.describe(c, time.Since(start), lastErr))
			}
			return p.last, fmt.Errorf("%w: %s", ErrNotRecovered, p.describe(c, time.Since(start), nil))
		case <-tick.C:
		}
	}
}

// progress is what the checks of one Wait measured.
type progress struct {
	last   Result
	checks int
}

// describe says in one line why recovery was not judged reached:
// "prediction.errors_rate / predictions_rate ratio 0.61 still above 0.05
// after 60s (last of 58 checks)".
func (p progress) describe(c runbook.Verify, took time.Duration, lastErr error) string {
	after := "after " + seconds(roundTook(took, c.Timeout))
	switch {
	case lastErr != nil:
		return fmt.Sprintf("%s queries failing %s (%d checks answered): %v", c.Metric, after, p.checks, lastErr)
	case p.checks == 0:
		return fmt.Sprintf("no measurement of %s %s", c.Metric, after)
	case p.last.Points == 0:
		return fmt.Sprintf("no %s points arrived %s (%d checks)", pointsOf(c.Metric), after, p.checks)
	case p.last.Points < uint64(c.MinPoints):
		return fmt.Sprintf("%s %s %s over %d points, fewer than the %d needed, %s (last of %d checks)",
			c.Metric, c.Aggregate, short(p.last.Value), p.last.Points, c.MinPoints, after, p.checks)
	}
	return fmt.Sprintf("%s %s %s still above %s %s (last of %d checks)", c.Metric, c.Aggregate, short(p.last.Value), short(c.Below), after, p.checks)
}

// pointsOf is the metric whose points a check counts: a ratio's
// denominator, or the metric itself.
func pointsOf(metric string) string {
	if e, err := metricexpr.Parse(metric); err == nil && e.IsRatio() {
		return e.Denominator
	}
	return metric
}

// roundTook rounds a wait to what a reader needs: the check's timeout when
// it ran its course, else tenths of a second below ten seconds and whole
// seconds above.
func roundTook(d, timeout time.Duration) time.Duration {
	switch {
	case d >= timeout:
		return timeout
	case d < 10*time.Second:
		return d.Round(100 * time.Millisecond)
	default:
		return d.Round(time.Second)
	}
}

// seconds writes a wait as "60s" or "2.5s" rather than "1m0s"; below a
// second as "500ms".
func seconds(d time.Duration) string {
	if d < time.Second {
		return d.String()
	}
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"
}

func short(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }

// measure aggregates the points newer than both since and the window start.
// A ratio A / B is sum(A) / sum(B), with B's points as its Points: without
// any, or with B summing to 0 (no requests), it is not recovered yet.
func (v *Verifier) measure(ctx context.Context, c runbook.Verify, since int64) (Result, error) {
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	from := max(since, now().Add(-c.Window).UnixNano())
	expr, err := metricexpr.Parse(c.Metric)
	if err != nil {
		return Result{}, fmt.Errorf("verify metric: %w", err)
	}
	// A redelivered telemetry batch writes its points again under the same
	// (event_id, point_index), and metrics folds them only when parts
	// merge: the subquery keeps one row per point, so copies neither count
	// towards min_points nor weigh in the aggregate. LIMIT BY works on 18.16
	// and costs less than FINAL. The aggregate comes from a fixed list
	// (checked at load), so it can be spliced in; every value is a bound
	// parameter.
	const points = `SELECT event_id, point_index, name, value FROM metrics
		WHERE name IN (?, ?) AND (? = '' OR service = ?) AND time_unix_nano > ?
		LIMIT 1 BY event_id, point_index`
	q := fmt.Sprintf(`SELECT count() AS n, %s(value) AS v FROM (%s)`, c.Aggregate, points)
	num, den := expr.Numerator, expr.Numerator
	args := []any{}
	if expr.IsRatio() {
		den = expr.Denominator
		q = `SELECT countIf(name = ?) AS n, sumIf(value, name = ?) / sumIf(value, name = ?) AS v FROM (` + points + `)`
		args = append(args, den, num, den)
	}
	args = append(args, num, den, c.Service, c.Service, from)
	var r Result
	if err := v.Conn.QueryRow(ctx, q, args...).Scan(&r.Points, &r.Value); err != nil {
		return r, fmt.Errorf("verify query on metrics: %w", err)
	}
	if math.IsNaN(r.Value) {
		r.Value = math.Inf(1)
	}
	return r, nil
}
