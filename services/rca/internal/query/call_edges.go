package query

import (
	"context"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/medic-sre/medic/services/rca/internal/callgraph"
)

// CallEdges returns the calls between services seen in the spans of rg: a
// child span of one service under a parent span of another.
func (r *Reader) CallEdges(ctx context.Context, rg Range) ([]callgraph.Edge, error) {
	const q = `SELECT caller, callee
FROM (
  SELECT trace_id, parent_span_id AS span_id, service AS callee FROM spans
  WHERE parent_span_id != '' AND time >= toDateTime(?) AND time <= toDateTime(?)
    AND start_unix_nano >= ? AND start_unix_nano < ?
) AS c
ALL INNER JOIN (
  SELECT trace_id, span_id, service AS caller FROM spans
  WHERE time >= toDateTime(?) AND time <= toDateTime(?)
) AS p USING (trace_id, span_id)
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
