package query

import (
	"context"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Call is one edge of the service call graph: Caller's spans have
// children of Callee's.
type Call struct {
	Caller, Callee string
	Spans          uint64
}

// ServiceCalls returns the calls between services in the spans of rg
// (of model, or all when model is empty): each caller and callee pair
// once, with how many child spans it holds. Calls within a service are
// left out.
func (r *Reader) ServiceCalls(ctx context.Context, model string, rg Range) ([]Call, error) {
	const q = `SELECT p.service, c.callee, count()
FROM (
  SELECT trace_id, span_id, service FROM spans
  WHERE (? = '' OR model = ?) AND time >= toDateTime(?) AND time <= toDateTime(?)
    AND start_unix_nano >= ? AND start_unix_nano < ?
) AS p
ALL INNER JOIN (
  SELECT trace_id, parent_span_id AS span_id, service AS callee FROM spans
  WHERE parent_span_id != '' AND time >= toDateTime(?) AND time <= toDateTime(?)
    AND start_unix_nano >= ? AND start_unix_nano < ?
) AS c USING (trace_id, span_id)
WHERE p.service != c.callee
GROUP BY p.service, c.callee`
	var out []Call
	err := r.each(ctx, "service calls", q, func(rows driver.Rows) error {
		var v Call
		if err := rows.Scan(&v.Caller, &v.Callee, &v.Spans); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	}, model, model, seconds(rg.From), seconds(rg.To), rg.From, rg.To, seconds(rg.From), seconds(rg.To)+1, rg.From, rg.To)
	return out, err
}
