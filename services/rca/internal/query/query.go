// Package query reads what root-cause analysis needs from ClickHouse, per
// 1-second bucket. Every value is a bound parameter, and the SQL stays in the
// subset that ClickHouse 18.16 and modern servers share.
package query

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/metricexpr"
	"github.com/medic-sre/medic/pkg/store"
)

// Range is the half-open interval [From, To) of unix nanoseconds.
type Range struct{ From, To int64 }

// Reader runs the analysis queries on one connection.
type Reader struct {
	conn driver.Conn
	// slots holds a token per query running: at most one fewer than the
	// store's connections, leaving one for its readiness checks. An
	// analysis runs about ten queries at once; past the pool, the driver
	// waits for a connection only as long as its dial timeout (3 s), and
	// concurrent analyses on a loaded machine failed with "acquire conn
	// timeout". Here a query waits for as long as its context allows.
	slots chan struct{}
}

// New returns a Reader over conn, a store's connection.
func New(conn driver.Conn) *Reader {
	return &Reader{conn: conn, slots: make(chan struct{}, store.MaxOpenConns-1)}
}

// onePerPoint keeps one row per metric point. The detector writes a batch's
// points before it acks the batch, so a redelivered batch is written again,
// and ReplacingMergeTree folds the copies only when it merges their parts,
// which may be never. FINAL would fold them too, but it is a merge at read
// time that older servers run in one thread; LIMIT BY folds only the rows
// the WHERE kept, and both 18.16 and modern servers accept it.
const onePerPoint = "LIMIT 1 BY event_id, point_index"

// ServiceBucket is one service's own behaviour in one bucket: its spans, how
// many of them failed while none of their children did, and its mean self
// latency (duration minus the children's) in milliseconds.
type ServiceBucket struct {
	Service       string
	Bucket        int64
	Spans         uint64
	SelfErrors    uint64
	SelfLatencyMs float64
}

// SelfBehaviour returns each service's self errors and latency per bucket,
// from spans of model (all spans when model is empty): SpanBehaviour summed
// over each service's operations.
func (r *Reader) SelfBehaviour(ctx context.Context, model string, rg Range) ([]ServiceBucket, error) {
	ops, err := r.SpanBehaviour(ctx, model, rg, 0)
	if err != nil {
		return nil, err
	}
	return ServicesOf(ops), nil
}

// ServicesOf sums operations' rows into their services', per bucket, in
// the order each service and bucket first appears.
func ServicesOf(ops []OperationBucket) []ServiceBucket {
	type key struct {
		service string
		bucket  int64
	}
	at := map[key]int{}
	var out []ServiceBucket
	var selfMs []float64
	for _, v := range ops {
		k := key{v.Service, v.Bucket}
		i, ok := at[k]
		if !ok {
			i = len(out)
			at[k] = i
			out = append(out, ServiceBucket{Service: v.Service, Bucket: v.Bucket})
			selfMs = append(selfMs, 0)
		}
		out[i].Spans += v.Spans
		out[i].SelfErrors += v.SelfErrors
		selfMs[i] += v.SelfLatencyMsSum
	}
	for i := range out {
		out[i].SelfLatencyMs = selfMs[i] / float64(out[i].Spans)
	}
	return out
}

// OperationBucket is one operation's (a service's spans of one name) own
// behaviour in one bucket, with the self latency summed rather than
// averaged, so that operations add up to their service (ServicesOf).
// Operation is empty for a service that is not split (see SpanBehaviour).
type OperationBucket struct {
	Service, Operation string
	Bucket             int64
	Spans              uint64
	SelfErrors         uint64
	SelfLatencyMsSum   float64
}

// SpanBehaviour returns the self errors and self latency per bucket of each
// operation of the services whose spans of model (all spans when model is
// empty) carry from 2 to maxOperations names in rg; each other service is
// one row per bucket with no operation. With maxOperations 0 no service is
// split. One query serves services and operations alike, as the join of
// children to parents is most of an analysis's time; a service with more
// names than maxOperations (a name per URL or id) is left whole, so that
// the rows stay few.
//
// The work is split by trace into selfBehaviourParts queries that run at
// once: ClickHouse 18.16 runs the dedup, the join and what follows it in
// one thread per query, so one query left a core idle. Every span and its
// children belong to one trace, so each part is complete on its own and
// the parts add up.
func (r *Reader) SpanBehaviour(ctx context.Context, model string, rg Range, maxOperations int) ([]OperationBucket, error) {
	repeated, err := r.spansRepeated(ctx, rg)
	if err != nil {
		return nil, err
	}
	return r.spanBehaviourParts(ctx, model, rg, maxOperations, repeated)
}

// spanBehaviourParts runs the selfBehaviourParts queries at once and adds
// up their rows.
func (r *Reader) spanBehaviourParts(ctx context.Context, model string, rg Range, maxOperations int, repeated bool) ([]OperationBucket, error) {
	parts := make([][]OperationBucket, selfBehaviourParts)
	errs := make([]error, selfBehaviourParts)
	var wg sync.WaitGroup
	for i := range parts {
		wg.Go(func() { parts[i], errs[i] = r.spanBehaviourPart(ctx, model, rg, maxOperations, i, repeated) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return addParts(parts), nil
}

// selfBehaviourParts is how many queries SpanBehaviour runs at once: the
// cores of the machine it was measured on.
const selfBehaviourParts = 2

// addParts adds the parts' rows of each operation and bucket.
func addParts(parts [][]OperationBucket) []OperationBucket {
	type key struct {
		service, operation string
		bucket             int64
	}
	at := map[key]int{}
	var out []OperationBucket
	for _, part := range parts {
		for _, v := range part {
			k := key{v.Service, v.Operation, v.Bucket}
			i, ok := at[k]
			if !ok {
				at[k] = len(out)
				out = append(out, v)
				continue
			}
			out[i].Spans += v.Spans
			out[i].SelfErrors += v.SelfErrors
			out[i].SelfLatencyMsSum += v.SelfLatencyMsSum
		}
	}
	return out
}

// spansRepeated tells whether a span is stored more than once in rg (and
// the second after it, where SpanBehaviour finds children).
//
// Spans have one writer, the archiver, and it skips a redelivered batch
// whose spans are already stored. Even so, a span can land twice (an
// insert that failed after the server stored part of it, a batch that
// straddles two partitions), and a copy would double the spans and the
// children's summed duration. Folding copies with LIMIT 1 BY in the
// analysis was two thirds of its time over a million spans (0.7 s of
// each 2 s part, on each side of the join), for data that almost never
// has any. This check costs one hash set of the window's span keys
// (0.25-0.5 s), and the analysis folds copies only when there are some.
// Running the parts beside it, and again only when it found copies, was
// no faster on two cores (1.8-2.1 s either way).
func (r *Reader) spansRepeated(ctx context.Context, rg Range) (bool, error) {
	const q = `SELECT count() != uniqExact(cityHash64(trace_id, span_id)) FROM spans
WHERE time >= toDateTime(?) AND time <= toDateTime(?)`
	var repeated uint8
	err := r.each(ctx, "repeated spans", q, func(rows driver.Rows) error {
		return rows.Scan(&repeated)
	}, seconds(rg.From), seconds(rg.To)+1)
	return repeated == 1, err
}

// spanBehaviourPart is SpanBehaviour over the traces whose hash falls in
// part. With repeated, each side of the join reads one row per span
// (see spansRepeated).
func (r *Reader) spanBehaviourPart(ctx context.Context, model string, rg Range, maxOperations, part int, repeated bool) ([]OperationBucket, error) {
	// Children are joined to their parent by (trace_id, span_id); a parent
	// whose failing child explains its failure does not count as a self
	// error, so errors that propagate up the call chain are not blamed on
	// every caller.
	//
	// That pair is hashed into one UInt64 (cityHash64) for the dedup, the
	// GROUP BY and the join: over a million spans, hash tables of strings
	// were most of the time (see BENCHMARKS.md, RCA on-demand analysis).
	// Two spans collide with a chance of about n^2 / 2^65, a few in a
	// million at 10 million spans, and then only one span is miscounted.
	//
	// Which services are split into operations is read from the name and
	// service columns alone, a small part of the join's cost.
	const q = `SELECT s.service, s.op, intDiv(s.start_unix_nano, 1000000000) AS b, count(),
  sum(s.status_code = 2 AND c.child_errors = 0),
  sum(greatest(s.duration_ns - c.child_ns, 0))
FROM (
  SELECT service, if(service IN (
      SELECT service FROM spans
      WHERE (? = '' OR model = ?) AND time >= toDateTime(?) AND time <= toDateTime(?)
        AND start_unix_nano >= ? AND start_unix_nano < ?
      GROUP BY service
      HAVING uniq(name) >= 2 AND uniq(name) <= ?), name, '') AS op,
    cityHash64(trace_id, span_id) AS span_key, status_code, duration_ns, start_unix_nano FROM spans
  WHERE (? = '' OR model = ?) AND time >= toDateTime(?) AND time <= toDateTime(?)
    AND start_unix_nano >= ? AND start_unix_nano < ? AND cityHash64(trace_id) % ? = ?
  {each_span_once}
) AS s
ANY LEFT JOIN (
  SELECT cityHash64(trace_id, parent_span_id) AS span_key, sum(status_code = 2) AS child_errors, sum(duration_ns) AS child_ns
  FROM (
    SELECT trace_id, parent_span_id, status_code, duration_ns FROM spans
    WHERE parent_span_id != '' AND time >= toDateTime(?) AND time <= toDateTime(?) AND cityHash64(trace_id) % ? = ?
    {each_child_once}
  )
  GROUP BY span_key
) AS c USING (span_key)
GROUP BY s.service, s.op, b`
	fold := strings.NewReplacer("{each_span_once}", "", "{each_child_once}", "")
	if repeated {
		fold = strings.NewReplacer("{each_span_once}", "LIMIT 1 BY span_key",
			"{each_child_once}", "LIMIT 1 BY cityHash64(trace_id, span_id)")
	}
	sql := fold.Replace(q)
	var out []OperationBucket
	n, p := uint64(selfBehaviourParts), uint64(part)
	scope := []any{model, model, seconds(rg.From), seconds(rg.To), rg.From, rg.To}
	args := append(append(append([]any{}, scope...), maxOperations), scope...)
	args = append(args, n, p, seconds(rg.From), seconds(rg.To)+1, n, p)
	err := r.each(ctx, "span self behaviour", sql, func(rows driver.Rows) error {
		var v OperationBucket
		var selfNs int64
		if err := rows.Scan(&v.Service, &v.Operation, &v.Bucket, &v.Spans, &v.SelfErrors, &selfNs); err != nil {
			return err
		}
		v.SelfLatencyMsSum = float64(selfNs) / 1e6
		out = append(out, v)
		return nil
	}, args...)
	return out, err
}

// MissingBucket is the share of a service's responses with missing data in
// one bucket, from one of its metrics: Name is a *_ratio metric, or the
// counter pair "<x>.missing_rate / <x>.values_rate".
type MissingBucket struct {
	Service, Name string
	Bucket        int64
	Share         float64
}

// MissingData returns, per service, missing-data metric and bucket, the
// share of responses with missing data, from metrics of model (all when
// model is empty). It reads both forms a service may report: per-response
// *_ratio points (the share of them above zero), and the counters
// <x>.values and <x>.missing, as the rates ingest derives from them.
func (r *Reader) MissingData(ctx context.Context, model string, rg Range) ([]MissingBucket, error) {
	ratios, err := r.missingRatios(ctx, model, rg)
	if err != nil {
		return nil, err
	}
	counted, err := r.missingCounters(ctx, model, rg)
	return append(ratios, counted...), err
}

// missingRatios is MissingData from *_ratio points.
func (r *Reader) missingRatios(ctx context.Context, model string, rg Range) ([]MissingBucket, error) {
	const q = `SELECT service, name, intDiv(time_unix_nano, 1000000000) AS b, avg(value > 0)
FROM (
  SELECT service, name, time_unix_nano, value, event_id, point_index FROM metrics
  WHERE endsWith(name, '_ratio') AND (? = '' OR model = ?)
    AND time >= toDateTime(?) AND time <= toDateTime(?)
    AND time_unix_nano >= ? AND time_unix_nano < ?
  ` + onePerPoint + `
)
GROUP BY service, name, b`
	var out []MissingBucket
	err := r.each(ctx, "missing data", q, func(rows driver.Rows) error {
		var v MissingBucket
		if err := rows.Scan(&v.Service, &v.Name, &v.Bucket, &v.Share); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	}, model, model, seconds(rg.From), seconds(rg.To), rg.From, rg.To)
	return out, err
}

// missingCounters is MissingData from the rates of <x>.missing and
// <x>.values counters.
func (r *Reader) missingCounters(ctx context.Context, model string, rg Range) ([]MissingBucket, error) {
	// A service counts values and missing ones per series, typically one
	// per feature (attribute feature). missing / values of one series is
	// the share of responses that lacked that feature; the share that
	// lacked any is at least the largest of those, and at least the pooled
	// share, which also covers counters whose attributes do not pair up.
	// So the share is the greater of the two. A series is told by its
	// attributes in sorted order: their stored order is not fixed.
	//
	// A service's counters need not name a model (a feature store serves
	// every model), so for a model they count when they name it or none.
	const q = `SELECT service, prefix, b, greatest(maxIf(m / v, v > 0), sum(m) / sum(v))
FROM (
  SELECT service, replaceRegexpOne(name, '[.](missing|values)_rate$', '') AS prefix,
    intDiv(time_unix_nano, 1000000000) AS b, attrs,
    sumIf(value, endsWith(name, '.missing_rate')) AS m, sumIf(value, endsWith(name, '.values_rate')) AS v
  FROM (
    SELECT service, name, time_unix_nano, value,
      arraySort(arrayMap((k, x) -> concat(k, '=', x), attr_keys, attr_values)) AS attrs, event_id, point_index
    FROM metrics
    WHERE (endsWith(name, '.missing_rate') OR endsWith(name, '.values_rate')) AND (? = '' OR model IN (?, ''))
      AND time >= toDateTime(?) AND time <= toDateTime(?)
      AND time_unix_nano >= ? AND time_unix_nano < ?
    ` + onePerPoint + `
  )
  GROUP BY service, prefix, b, attrs
)
GROUP BY service, prefix, b
HAVING sum(v) > 0`
	var out []MissingBucket
	err := r.each(ctx, "missing data counters", q, func(rows driver.Rows) error {
		var v MissingBucket
		var prefix string
		if err := rows.Scan(&v.Service, &prefix, &v.Bucket, &v.Share); err != nil {
			return err
		}
		v.Name = metricexpr.Expr{Numerator: prefix + ".missing_rate", Denominator: prefix + ".values_rate"}.String()
		out = append(out, v)
		return nil
	}, model, model, seconds(rg.From), seconds(rg.To), rg.From, rg.To)
	return out, err
}

// LogBucket counts one service's warning and error log records in one
// bucket.
type LogBucket struct {
	Service string
	Bucket  int64
	Errors  uint64
}

// ErrorLogs returns, per service and bucket, the WARN and ERROR log records
// about model (all when model is empty).
func (r *Reader) ErrorLogs(ctx context.Context, model string, rg Range) ([]LogBucket, error) {
	// Log records carry no id to fold copies by, unlike spans: a batch that
	// the writer retried after an insert that failed yet stored it is
	// counted twice. Only that rare case leads here, so it is accepted.
	const q = `SELECT service, intDiv(time_unix_nano, 1000000000) AS b, count()
FROM logs
WHERE severity IN ('WARN', 'ERROR') AND (? = '' OR model = ?)
  AND time >= toDateTime(?) AND time <= toDateTime(?)
  AND time_unix_nano >= ? AND time_unix_nano < ?
GROUP BY service, b`
	var out []LogBucket
	err := r.each(ctx, "error logs", q, func(rows driver.Rows) error {
		var v LogBucket
		if err := rows.Scan(&v.Service, &v.Bucket, &v.Errors); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	}, model, model, seconds(rg.From), seconds(rg.To), rg.From, rg.To)
	return out, err
}

// Change is a recorded change event.
type Change struct {
	ChangeID, Kind               string
	Service, Model, ModelVersion string
	TimeUnixNano                 int64
}

// Changes returns the change events whose own time is in rg, once each
// (a redelivered event may have been archived twice).
func (r *Reader) Changes(ctx context.Context, rg Range) ([]Change, error) {
	const q = `SELECT visitParamExtractString(data, 'change_id') AS cid,
  any(visitParamExtractString(data, 'kind')), any(service), any(model), any(model_version),
  any(visitParamExtractInt(data, 'time_unix_nano')) AS t
FROM events
WHERE type = ? AND visitParamExtractInt(data, 'time_unix_nano') >= ?
  AND visitParamExtractInt(data, 'time_unix_nano') < ?
GROUP BY cid
ORDER BY t`
	var out []Change
	err := r.each(ctx, "changes", q, func(rows driver.Rows) error {
		var v Change
		if err := rows.Scan(&v.ChangeID, &v.Kind, &v.Service, &v.Model, &v.ModelVersion, &v.TimeUnixNano); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	}, events.TypeChangeRecorded, rg.From, rg.To)
	return out, err
}

// each runs q and calls scan for every row.
func (r *Reader) each(ctx context.Context, what, q string, scan func(driver.Rows) error, args ...any) error {
	record(ctx, what, q, args)
	select {
	case r.slots <- struct{}{}:
		defer func() { <-r.slots }()
	case <-ctx.Done():
		return fmt.Errorf("query %s: waiting for a connection: %w", what, ctx.Err())
	}
	rows, err := r.conn.Query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("query %s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return fmt.Errorf("read %s: %w", what, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s: %w", what, err)
	}
	return nil
}

// seconds is a unix-nanosecond time in whole seconds, for the DateTime
// columns that prune partitions and the primary key.
func seconds(ns int64) int64 { return ns / 1_000_000_000 }
