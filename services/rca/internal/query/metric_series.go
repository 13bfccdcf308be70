package query

import (
	"context"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// MetricBucket is one service's mean of one metric in one bucket.
type MetricBucket struct {
	Service string
	Bucket  int64
	Value   float64
}

// MetricByService returns the mean of metric name per service and bucket:
// the same metric of every service that reports it, so that each can be
// compared with a symptom in those units.
func (r *Reader) MetricByService(ctx context.Context, name string, rg Range) ([]MetricBucket, error) {
	const q = `SELECT service, intDiv(time_unix_nano, 1000000000) AS b, avg(value)
FROM (
  SELECT service, time_unix_nano, value, event_id, point_index FROM metrics
  WHERE name = ? AND time >= toDateTime(?) AND time <= toDateTime(?)
    AND time_unix_nano >= ? AND time_unix_nano < ?
  ` + onePerPoint + `
)
GROUP BY service, b`
	var out []MetricBucket
	err := r.each(ctx, "metric by service", q, func(rows driver.Rows) error {
		var v MetricBucket
		if err := rows.Scan(&v.Service, &v.Bucket, &v.Value); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	}, name, seconds(rg.From), seconds(rg.To), rg.From, rg.To)
	return out, err
}
