package query

import (
	"context"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// FeatureBucket is one feature's share of bad values in one bucket, as one
// service reported it for one model: Bad of Total values were null (see
// FeatureNulls) or out of the baseline's range (see FeatureOutOfRange).
// Model is empty for a service that serves a feature to every model (a
// feature store).
type FeatureBucket struct {
	Service, Model, Feature string
	Bucket                  int64
	Bad, Total              float64
}

// inferenceScope keeps the metric points of services and models that
// write an inference log (pkg/inferencemap: every record with mapped
// features yields inference.features_missing), so that another metric that
// merely starts with "feature." is not read as a feature's value.
const inferenceScope = `(service, model) IN (
      SELECT service, model FROM metrics
      WHERE name = 'inference.features_missing' AND time >= toDateTime(?) AND time <= toDateTime(?))`

// Patterns of the inference log's feature points (pkg/inferencemap):
// feature.<name> is a record's value, feature.<name>.missing is 1 in a
// record that lacks it.
const (
	featureValuePoint = `^feature[.][^.]+$`
	featurePoint      = `^feature[.][^.]+([.]missing)?$`
)

// FeatureNulls returns, per service, model, feature and bucket, how many
// of the feature's values were missing, from points of model (all when
// model is empty) in rg. It reads the two forms the data takes:
//   - a service's counters <x>.missing and <x>.values with attribute
//     feature (as their rates, which ingest derives); a service's counters
//     need not name a model (a store serves every model), so for a model
//     they count when they name it or none;
//   - an inference log's points feature.<name>.missing and feature.<name>
//     (pkg/inferencemap), one per record.
func (r *Reader) FeatureNulls(ctx context.Context, model string, rg Range) ([]FeatureBucket, error) {
	const q = `SELECT service, model, feature, b, sum(bad), sum(total)
FROM (
  SELECT service, model, feature, b,
    sumIf(value, endsWith(name, '.missing_rate')) AS bad, sumIf(value, endsWith(name, '.values_rate')) AS total
  FROM (
    SELECT service, model, name, attr_values[indexOf(attr_keys, 'feature')] AS feature,
      intDiv(time_unix_nano, 1000000000) AS b, value, event_id, point_index
    FROM metrics
    WHERE (endsWith(name, '.missing_rate') OR endsWith(name, '.values_rate')) AND has(attr_keys, 'feature')
      AND (? = '' OR model IN (?, '')) AND time >= toDateTime(?) AND time <= toDateTime(?)
      AND time_unix_nano >= ? AND time_unix_nano < ?
    ` + onePerPoint + `
  )
  WHERE feature != ''
  GROUP BY service, model, feature, b
  UNION ALL
  SELECT service, model, feature, b, toFloat64(countIf(endsWith(name, '.missing'))) AS bad, toFloat64(count()) AS total
  FROM (
    SELECT service, model, name, extract(name, '^feature[.]([^.]+)') AS feature,
      intDiv(time_unix_nano, 1000000000) AS b, event_id, point_index
    FROM metrics
    WHERE match(name, '` + featurePoint + `') AND model != '' AND (? = '' OR model = ?)
      AND time >= toDateTime(?) AND time <= toDateTime(?) AND time_unix_nano >= ? AND time_unix_nano < ?
      AND ` + inferenceScope + `
    ` + onePerPoint + `
  )
  GROUP BY service, model, feature, b
)
GROUP BY service, model, feature, b
HAVING sum(total) > 0`
	args := []any{model, model, seconds(rg.From), seconds(rg.To), rg.From, rg.To,
		model, model, seconds(rg.From), seconds(rg.To), rg.From, rg.To, seconds(rg.From), seconds(rg.To)}
	return r.featureBuckets(ctx, "feature nulls", q, args)
}

// FeatureOutOfRange returns, per service, model, feature and bucket of
// rg, how many of the feature's values in an inference log lay outside
// its 1st to 99th percentile over baseline: a distribution that moved
// puts more of its values there than the 2% the baseline did. Features
// without values in the baseline are left out.
func (r *Reader) FeatureOutOfRange(ctx context.Context, model string, baseline, rg Range) ([]FeatureBucket, error) {
	const values = `SELECT service, model, extract(name, '^feature[.]([^.]+)') AS feature, time_unix_nano, value
    FROM metrics
    WHERE match(name, '` + featureValuePoint + `') AND model != '' AND (? = '' OR model = ?)
      AND time >= toDateTime(?) AND time <= toDateTime(?) AND time_unix_nano >= ? AND time_unix_nano < ?
      AND ` + inferenceScope + `
    ` + onePerPoint
	const q = `SELECT v.service, v.model, v.feature, intDiv(v.time_unix_nano, 1000000000) AS b,
  toFloat64(sum(v.value < q.lo OR v.value > q.hi)), toFloat64(count())
FROM (` + values + `) AS v
ANY INNER JOIN (
  SELECT service, model, feature, quantile(0.01)(value) AS lo, quantile(0.99)(value) AS hi
  FROM (` + values + `)
  GROUP BY service, model, feature
) AS q USING (service, model, feature)
GROUP BY v.service, v.model, v.feature, b`
	scope := func(rg Range) []any {
		return []any{model, model, seconds(rg.From), seconds(rg.To), rg.From, rg.To, seconds(rg.From), seconds(rg.To)}
	}
	return r.featureBuckets(ctx, "feature out of range", q, append(scope(rg), scope(baseline)...))
}

func (r *Reader) featureBuckets(ctx context.Context, what, q string, args []any) ([]FeatureBucket, error) {
	var out []FeatureBucket
	err := r.each(ctx, what, q, func(rows driver.Rows) error {
		var v FeatureBucket
		if err := rows.Scan(&v.Service, &v.Model, &v.Feature, &v.Bucket, &v.Bad, &v.Total); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	}, args...)
	return out, err
}
