package query

import (
	"context"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/medic-sre/medic/pkg/metricexpr"
)

// VersionBucket is the symptom as served by one model version in one
// bucket. Sum over Total is the symptom: for a plain metric, the sum of its
// values over its number of points; for a ratio A / B, the sum of A's values
// over the sum of B's (rates of counters, so the requests served); for a
// histogram, the increase of its sum over that of its count.
type VersionBucket struct {
	Bucket              int64
	Model, ModelVersion string
	Sum                 float64
	// Total is the mass the symptom is a share of: the points of a plain
	// metric, the sum of the denominator's values of a ratio, the
	// observations of a histogram.
	Total float64
	// Count is the number of points of the metric, or of the denominator
	// (a histogram's count).
	Count uint64
}

// Symptom names the series a symptom is read from: a metric expression of
// one service from the metrics table or, when Span is set, one of the
// service's span signals from the spans table.
type Symptom struct {
	Service string
	// Expr is the metric, when Span is empty.
	Expr metricexpr.Expr
	// Span is the span signal read instead of a metric; see SpanSignal.
	Span SpanSignal
	// Logs reads the LogRecords symptom instead of a metric.
	Logs bool
	// Operation (a span name) and Model narrow the spans read; a metric
	// symptom ignores them.
	Operation, Model string
}

// MetricSymptom is the symptom of metric expression e of service.
func MetricSymptom(e metricexpr.Expr, service string) Symptom {
	return Symptom{Service: service, Expr: e}
}

// Table is the table the symptom is read from.
func (s Symptom) Table() string {
	if s.Logs {
		return "logs"
	}
	if s.Span != "" {
		return "spans"
	}
	return "metrics"
}

// byVersion is the query of SymptomByVersion and its parameters.
func (s Symptom) byVersion(rg Range) (string, []any) {
	if s.Logs {
		return s.logsByVersion(rg)
	}
	if s.Span != "" {
		return s.spansByVersion(rg)
	}
	const q = `SELECT intDiv(time_unix_nano, 1000000000) AS b, model, model_version, ` + symptomMass + `
FROM (` + symptomPoints + `)
GROUP BY b, model, model_version`
	return q, symptomArgs(s.Expr, s.Service, rg)
}

// buckets is a query of the symptom as one value per 1-second bucket (b,
// v) with its point count n, and its parameters; see symptomBuckets.
func (s Symptom) buckets(rg Range) (string, []any) {
	if s.Logs {
		return s.logBuckets(rg)
	}
	if s.Span != "" {
		return s.spanBuckets(rg)
	}
	return symptomBuckets, symptomArgs(s.Expr, s.Service, rg)
}

// SymptomSeriesQuery is the name SymptomByVersion's query is recorded under.
const SymptomSeriesQuery = "symptom series"

// SymptomByVersion returns the symptom per bucket and model version; the
// rows of a bucket add up to the whole symptom (sum of Sum over sum of
// Total).
func (r *Reader) SymptomByVersion(ctx context.Context, sym Symptom, rg Range) ([]VersionBucket, error) {
	q, args := sym.byVersion(rg)
	var out []VersionBucket
	err := r.each(ctx, SymptomSeriesQuery, q, func(rows driver.Rows) error {
		var v VersionBucket
		if err := rows.Scan(&v.Bucket, &v.Model, &v.ModelVersion, &v.Sum, &v.Total, &v.Count); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	}, args...)
	return out, err
}

// symptomPoints are the points of the symptom's metrics of one service in a
// range, each point once (name, value and where they come from), followed
// by the points of a histogram's <name>_sum and <name>_count.
//
// A histogram rule's anomaly names the histogram (prediction.latency_ms).
// The ingest service stores a histogram's _bucket, _sum and _count per
// export interval, whatever the sender's temporality (see
// services/ingest/internal/otlp/doc.go), so each _sum / _count pair is the
// interval's observations, and a histogram symptom reads as the ratio
// sum / count: the mean of what was observed.
const symptomPoints = `SELECT time_unix_nano, name, model, model_version, value FROM (
  SELECT time_unix_nano, name, model, model_version, value, event_id, point_index FROM metrics
  WHERE name IN (?, ?) AND service = ? AND time >= toDateTime(?) AND time <= toDateTime(?)
    AND time_unix_nano >= ? AND time_unix_nano < ?
  ` + onePerPoint + `
)
UNION ALL
SELECT time_unix_nano, name, model, model_version, value FROM (
  SELECT time_unix_nano, name, model, model_version, value, event_id, point_index FROM metrics
  WHERE name IN (?, ?) AND service = ? AND time >= toDateTime(?) AND time <= toDateTime(?)
    AND time_unix_nano >= ? AND time_unix_nano < ?
  ` + onePerPoint + `
)`

// symptomMass aggregates symptomPoints into the symptom's numerator (s),
// the mass it is a share of (total) and the denominator's points (n). A
// plain metric is its own denominator, each point weighing 1; a ratio's
// denominator weighs its values, as does a histogram's count. One
// expression serves every form, so they cannot drift apart.
const symptomMass = `sumIf(value, name IN (?, ?)) AS s,
  toFloat64(sumIf(if(name = ? AND ? = 1, 1, value), name IN (?, ?))) AS total,
  countIf(name IN (?, ?)) AS n`

// symptomArgs are the parameters of symptomMass followed by those of
// symptomPoints. A plain name reads its own points and, should it be a
// histogram, its _sum over its _count; a ratio reads its two metrics only.
func symptomArgs(sym metricexpr.Expr, service string, rg Range) []any {
	num, den, hSum, hCount, perPoint := sym.Numerator, sym.Denominator, "", "", uint8(0)
	if !sym.IsRatio() {
		den, hSum, hCount, perPoint = num, num+"_sum", num+"_count", 1
	}
	where := func(a, b string) []any { return []any{a, b, service, seconds(rg.From), seconds(rg.To), rg.From, rg.To} }
	args := []any{num, hSum, den, perPoint, den, hCount, den, hCount}
	args = append(args, where(num, den)...)
	return append(args, where(hSum, hCount)...)
}
