package query

import (
	"context"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Services returns the services that wrote spans or metric points in rg,
// in name order: what a symptom may name there.
func (r *Reader) Services(ctx context.Context, rg Range) ([]string, error) {
	const q = `SELECT service FROM (
  SELECT DISTINCT service FROM spans
  WHERE time >= toDateTime(?) AND time <= toDateTime(?) AND start_unix_nano >= ? AND start_unix_nano < ?
  UNION ALL
  SELECT DISTINCT service FROM metrics
  WHERE time >= toDateTime(?) AND time <= toDateTime(?) AND time_unix_nano >= ? AND time_unix_nano < ?
)
WHERE service != ''
GROUP BY service
ORDER BY service`
	var out []string
	err := r.each(ctx, "services", q, func(rows driver.Rows) error {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		out = append(out, s)
		return nil
	}, seconds(rg.From), seconds(rg.To), rg.From, rg.To, seconds(rg.From), seconds(rg.To), rg.From, rg.To)
	return out, err
}
