package rcabench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// world is the period the data covers: the baseline, then the window with
// the fault from its middle.
type world struct {
	baselineStart, windowStart, windowEnd, faultAt time.Time
	// spansPerWindow is how many spans (and log lines) the window holds;
	// the baseline holds the same rate.
	spansPerWindow int64
}

func newWorld(windowStart time.Time, window, baseline time.Duration, spansPerWindow int64) world {
	return world{baselineStart: windowStart.Add(-baseline), windowStart: windowStart, windowEnd: windowStart.Add(window),
		faultAt: windowStart.Add(window / 2), spansPerWindow: spansPerWindow}
}

// traceStep is the time between two traces' starts.
func (w world) traceStep() int64 {
	return int64(w.windowEnd.Sub(w.windowStart)) / (w.spansPerWindow / int64(len(tree)))
}

// rows is how many spans (and log lines) baseline and window hold.
func (w world) rows() int64 {
	return int64(w.windowEnd.Sub(w.baselineStart)) / w.traceStep() * int64(len(tree))
}

// spanRowsSQL selects the spans numbered [from, from+n), one row per span
// with its derived fields. Span number n is node n%16 of trace n/16; each
// trace starts at a random point of its step. All randomness is
// cityHash64 of the trace and node, so a trace is the same in spans and
// logs, and a parent's id is computed from its node number.
func (w world) spanRowsSQL(from, n int64) string {
	node := len(tree)
	return fmt.Sprintf(`SELECT
  number + %[1]d AS n, intDiv(n, %[2]d) AS t, toUInt8(n %% %[2]d) AS j,
  toInt64(%[3]d + t * %[4]d + cityHash64(t, 0) %% %[4]d) AS trace_ns,
  trace_ns >= %[5]d AS faulted,
  faulted AND cityHash64(t, 1) %% 100 < %[6]d AS timed_out,
  %[7]s[j + 1] = 1 AS on_path,
  toInt64(arraySum(arrayMap(k -> %[8]s[k + 1] * (500 + cityHash64(t, k, 2) %% 1000) / 1000, %[9]s[j + 1])))
    + if(on_path AND faulted, %[10]d, 0) AS dur,
  trace_ns + %[11]s[j + 1] AS start_ns,
  lower(concat(hex(cityHash64(t, 3)), hex(cityHash64(t, 4)))) AS trace_id,
  lower(hex(cityHash64(t, j, 5))) AS span_id,
  %[12]s[j + 1] AS parent,
  if(parent < 0, '', lower(hex(cityHash64(t, toUInt8(greatest(parent, 0)), 5)))) AS parent_span_id,
  %[13]s[j + 1] AS service,
  %[14]s[j + 1] AS ops, ops[t %% length(ops) + 1] AS name,
  on_path AND timed_out AS fault_error,
  if(fault_error OR cityHash64(t, j, 6) %% 1000 < %[15]d, 2, 1) AS status
FROM numbers(%[16]d)`,
		from, node, w.baselineStart.UnixNano(), w.traceStep(), w.faultAt.UnixNano(), faultErrPercent,
		sqlInts(func(i int) int64 { return b2i(onPath(i)) }),
		sqlInts(func(i int) int64 { return int64(tree[i].selfMs * float64(time.Millisecond)) }),
		sqlSubtrees(), int64(faultDelay), sqlInts(offsetNs),
		sqlInts(func(i int) int64 { return int64(tree[i].parent) }),
		sqlServices(), sqlOps(), bgErrPerMille, n)
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// insertSpansSQL writes spanRowsSQL into spans.
func (w world) insertSpansSQL(from, n int64) string {
	return `INSERT INTO spans (time, start_unix_nano, end_unix_nano, duration_ns, trace_id, span_id, parent_span_id,
  service, name, kind, status_code, status_message, model, model_version, attr_keys, attr_values)
SELECT toDateTime(intDiv(start_ns, 1000000000)), start_ns, start_ns + dur, dur, trace_id, span_id, parent_span_id,
  service, name, 'server', status,
  multiIf(fault_error, concat('timeout after ', toString(intDiv(dur, 1000000)), ' ms'), status = 2, 'internal error', ''),
  '', '', emptyArrayString(), emptyArrayString()
FROM (` + w.spanRowsSQL(from, n) + `)`
}

// insertLogsSQL writes one log line per span, within it: the faulty
// service's timeouts as ERROR lines, the rest of mixed severity.
func (w world) insertLogsSQL(from, n int64) string {
	return fmt.Sprintf(`INSERT INTO logs (time, time_unix_nano, service, severity, body, trace_id, span_id,
  model, model_version, attr_keys, attr_values)
SELECT toDateTime(intDiv(log_ns, 1000000000)), log_ns, service, severity,
  if(fault_error, concat('GET feature:', toString(t %% 5000), ' timed out after ', toString(intDiv(dur, 1000000)), ' ms'),
    concat(name, ' handled in ', toString(intDiv(dur, 1000000)), ' ms for trace ', trace_id)),
  trace_id, span_id, '', '', emptyArrayString(), emptyArrayString()
FROM (
  SELECT *, start_ns + intDiv(dur, 2) AS log_ns, cityHash64(t, j, 7) %% 1000 AS h,
    multiIf(fault_error OR h < %d, 'ERROR', h < %d, 'WARN', h < %d, 'DEBUG', 'INFO') AS severity
  FROM (%s)
)`, logErrPerMille, logErrPerMille+logWarnPerMille, logErrPerMille+logWarnPerMille+logDbgPerMille, w.spanRowsSQL(from, n))
}

// chunkRows is how many rows one INSERT ... SELECT writes.
const chunkRows = 1_000_000

// load writes the world's spans and log lines with INSERT ... SELECT, two
// statements at a time (one per core of the machine measured), then merges
// each table's parts as a long-running server would have.
func (w world) load(ctx context.Context, conn driver.Conn) error {
	var stmts []string
	for from := int64(0); from < w.rows(); from += chunkRows {
		n := min(chunkRows, w.rows()-from)
		stmts = append(stmts, w.insertSpansSQL(from, n), w.insertLogsSQL(from, n))
	}
	if err := runConcurrently(ctx, conn, stmts, 2); err != nil {
		return err
	}
	for _, table := range []string{"spans", "logs"} {
		if err := conn.Exec(ctx, "OPTIMIZE TABLE "+table+" FINAL"); err != nil {
			return fmt.Errorf("optimize %s: %w", table, err)
		}
	}
	return nil
}

// runConcurrently runs stmts, at most parallel at once, and returns the
// first error.
func runConcurrently(ctx context.Context, conn driver.Conn, stmts []string, parallel int) error {
	work := make(chan string)
	errs := make(chan error, parallel)
	var wg sync.WaitGroup
	for range parallel {
		wg.Go(func() {
			for q := range work {
				if err := conn.Exec(ctx, q); err != nil {
					errs <- fmt.Errorf("load: %w", err)
					return
				}
			}
		})
	}
	go func() { wg.Wait(); close(errs) }()
	for _, q := range stmts {
		select {
		case work <- q:
		case err := <-errs:
			close(work)
			return err
		}
	}
	close(work)
	return <-errs
}
