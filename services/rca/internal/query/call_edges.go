package query

import (
	"context"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/medic-sre/medic/services/rca/internal/callgraph"
)

// CallEdges returns the calls between services seen in the spans of rg: a
// child span of one service under a parent span of another.
func (r *Reader) CallEdges(ctx context.Context, rg Range) ([]callgraph.Edge, error) {
	// Parent and child meet on a hash of (trace_id, span_id): joining on
	// one UInt64 instead of two strings is several times cheaper on an
	// old server's single-threaded join, and a collision (a few in a
	// million at 10M spans) could only add an edge that one span pair
	// does not have. A child has one parent (a parent written twice has
	// one service), so ANY finds the same callers as ALL, with a hash
	// table of one row a key.
	const q = `SELECT caller, callee
FROM (
  SELECT cityHash64(trace_id, parent_span_id) AS k, service AS callee FROM spans
  WHERE parent_span_id != '' AND time >= toDateTime(?) AND time <= toDateTime(?)
    AND start_unix_nano >= ? AND start_unix_nano < ?
) AS c
ANY INNER JOIN (
  SELECT cityHash64(trace_id, span_id) AS k, service AS caller FROM spans
  WHERE time >= toDateTime(?) AND time <= toDateTime(?)
) AS p USING (k)
WHERE caller != callee
GROUP BY caller, callee`
	var out []callgraph.Edge
	err := r.each(ctx, "call edges", q, func(rows driver.Rows) error {
		var e callgraph.Edge
		if err := rows.Scan(&e.Caller, &e.Callee); err != nil {
			return err
		}
		out = append(out, e)
		return nil
	}, seconds(rg.From), seconds(rg.To), rg.From, rg.To, seconds(rg.From)-1, seconds(rg.To)+1)
	return out, err
}
