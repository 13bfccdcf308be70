package query

import (
	"context"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// TemplateBucket is how many warning and error lines of one log template
// one service wrote per second in one 1-second bucket.
type TemplateBucket struct {
	Service    string
	TemplateID uint64
	Template   string
	Bucket     int64
	PerSecond  float64
	// BucketEnd is the end, in unix seconds, of the log_templates bucket
	// the count was spread from: a second of a range can hold lines from
	// after the range's end.
	BucketEnd int64
}

// maxTemplateBucket bounds the width of a log_templates bucket (10 s by
// default), so that a bucket that starts before a range but reaches into
// it is read.
const maxTemplateBucket = 60

// TemplateCounts returns, per service, log template and second of rg, the
// template's lines per second, from the counts the archiver mines
// (pkg/logtemplate, migration 0008). A count covers a bucket of several
// seconds; it is spread evenly over them. Each batch's count is read once
// (the migration's LIMIT 1 BY), as a redelivered batch writes it again.
func (r *Reader) TemplateCounts(ctx context.Context, rg Range) ([]TemplateBucket, error) {
	const q = `SELECT service, template_id, any(template), b, sum(per_second), max(bucket_end)
FROM (
  SELECT service, template_id, template, count / bucket_seconds AS per_second,
    toInt64(toUInt32(bucket)) + arrayJoin(range(bucket_seconds)) AS b,
    toInt64(toUInt32(bucket)) + toInt64(bucket_seconds) AS bucket_end
  FROM (
    SELECT service, template_id, template, bucket, bucket_seconds, count FROM log_templates
    WHERE bucket >= toDateTime(?) AND bucket < toDateTime(?) AND bucket_seconds > 0
    LIMIT 1 BY batch_id, service, template_id, severity, bucket
  )
)
WHERE b >= ? AND b < ?
GROUP BY service, template_id, b`
	from, to := seconds(rg.From), seconds(rg.To+999_999_999)
	var out []TemplateBucket
	err := r.each(ctx, "log template counts", q, func(rows driver.Rows) error {
		var v TemplateBucket
		if err := rows.Scan(&v.Service, &v.TemplateID, &v.Template, &v.Bucket, &v.PerSecond, &v.BucketEnd); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	}, from-maxTemplateBucket, to, from, to)
	return out, err
}
