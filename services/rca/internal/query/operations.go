package query

import (
	"context"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// OperationBucket is one operation's (a service's spans of one name) own
// behaviour in one bucket, with sums rather than a mean so that the caller
// can weigh it by its service's spans, as InstanceBucket.
type OperationBucket struct {
	Service, Operation string
	Bucket             int64
	Spans              uint64
	SelfErrors         uint64
	SelfLatencyMsSum   float64
}

// ServiceSpans is how many spans, each once, a service wrote in one
// bucket.
type ServiceSpans struct {
	Service string
	Bucket  int64
	Spans   uint64
}

// OperationRise says which of an operation's signals picks the operations
// that rose, and between which periods.
type OperationRise struct {
	// Latency picks by self latency; else by the share of self errors.
	Latency          bool
	Baseline, Window Range
	// PerService and Total bound the operations returned: a service with
	// thousands of span names must not flood the analysis.
	PerService, Total int
}

// MultiOperationSpans returns, per bucket, the spans of each service whose
// spans of model (all when model is empty) in rg carry two or more names:
// for a service with one, that operation is the service.
func (r *Reader) MultiOperationSpans(ctx context.Context, model string, rg Range) ([]ServiceSpans, error) {
	const q = `SELECT service, intDiv(start_unix_nano, 1000000000) AS b, count()
FROM (
  SELECT service, start_unix_nano FROM spans
  WHERE (? = '' OR model = ?) AND time >= toDateTime(?) AND time <= toDateTime(?)
    AND start_unix_nano >= ? AND start_unix_nano < ?
    AND service IN (
      SELECT service FROM spans
      WHERE (? = '' OR model = ?) AND time >= toDateTime(?) AND time <= toDateTime(?)
        AND start_unix_nano >= ? AND start_unix_nano < ?
      GROUP BY service
      HAVING uniq(name) >= 2)
  LIMIT 1 BY cityHash64(trace_id, span_id)
)
GROUP BY service, b`
	var out []ServiceSpans
	args := []any{model, model, seconds(rg.From), seconds(rg.To), rg.From, rg.To}
	err := r.each(ctx, "operation spans", q, func(rows driver.Rows) error {
		var v ServiceSpans
		if err := rows.Scan(&v.Service, &v.Bucket, &v.Spans); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	}, append(args, args...)...)
	return out, err
}

// OperationBehaviour returns, per bucket, the self errors and self latency
// (as SelfBehaviour reads them) of the operations of services whose own
// signal (see OperationRise) rose from rise.Baseline to rise.Window: the
// rise.PerService of each service with the greatest lift, at most
// rise.Total in all. Lift is the window's mean less the baseline's, over
// the baseline's standard deviation, of the operation's own per-bucket
// share of self errors or mean self latency. It is computed in ClickHouse,
// so that only the chosen operations' buckets leave the server.
func (r *Reader) OperationBehaviour(ctx context.Context, model string, services []string, rise OperationRise, rg Range) ([]OperationBucket, error) {
	if len(services) == 0 {
		return nil, nil
	}
	// The join is SelfBehaviour's, in one part: a child's failure or time
	// explains its parent's, whichever operation the child is.
	const q = `SELECT service, name, b, n, errs, self_ns / 1000000
FROM (
  SELECT service, name, groupArray(b) AS bs, groupArray(n) AS ns, groupArray(errs) AS es, groupArray(self_ns) AS ss,
    if(countIf(in_baseline) = 0, 0, avgIf(v, in_baseline)) AS mean_baseline,
    if(countIf(in_baseline) = 0, 0, stddevPopIf(v, in_baseline)) AS sd_baseline,
    if(countIf(in_window) = 0, 0, avgIf(v, in_window)) AS mean_window,
    (mean_window - mean_baseline) / (sd_baseline + 0.001) AS lift
  FROM (
    SELECT s.service AS service, s.name AS name, intDiv(s.start_unix_nano, 1000000000) AS b, count() AS n,
      toUInt64(sum(s.status_code = 2 AND c.child_errors = 0)) AS errs,
      toFloat64(sum(greatest(s.duration_ns - c.child_ns, 0))) AS self_ns,
      if(? = 1, self_ns / n / 1000000, errs / n) AS v,
      b * 1000000000 >= ? AND b * 1000000000 < ? AS in_baseline,
      b * 1000000000 >= ? AND b * 1000000000 < ? AS in_window
    FROM (
      SELECT service, name, cityHash64(trace_id, span_id) AS span_key, status_code, duration_ns, start_unix_nano FROM spans
      WHERE (? = '' OR model = ?) AND has(?, service) AND time >= toDateTime(?) AND time <= toDateTime(?)
        AND start_unix_nano >= ? AND start_unix_nano < ?
      LIMIT 1 BY span_key
    ) AS s
    ANY LEFT JOIN (
      SELECT cityHash64(trace_id, parent_span_id) AS span_key, sum(status_code = 2) AS child_errors, sum(duration_ns) AS child_ns
      FROM (
        SELECT trace_id, parent_span_id, status_code, duration_ns FROM spans
        WHERE parent_span_id != '' AND time >= toDateTime(?) AND time <= toDateTime(?)
        LIMIT 1 BY cityHash64(trace_id, span_id)
      )
      GROUP BY span_key
    ) AS c USING (span_key)
    GROUP BY service, name, b
  )
  GROUP BY service, name
  HAVING countIf(in_window) > 0 AND mean_window > mean_baseline
  ORDER BY lift DESC, service, name
  LIMIT ? BY service
  LIMIT ?
)
ARRAY JOIN bs AS b, ns AS n, es AS errs, ss AS self_ns`
	latency := 0
	if rise.Latency {
		latency = 1
	}
	var out []OperationBucket
	err := r.each(ctx, "operation self behaviour", q, func(rows driver.Rows) error {
		var v OperationBucket
		if err := rows.Scan(&v.Service, &v.Operation, &v.Bucket, &v.Spans, &v.SelfErrors, &v.SelfLatencyMsSum); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	}, latency, rise.Baseline.From, rise.Baseline.To, rise.Window.From, rise.Window.To,
		model, model, services, seconds(rg.From), seconds(rg.To), rg.From, rg.To, seconds(rg.From), seconds(rg.To)+1,
		rise.PerService, rise.Total)
	return out, err
}
