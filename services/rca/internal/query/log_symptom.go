package query

// LogRecords is the metric of a symptom read from a service's log records:
// its warning and error records (severity WARN or worse) per second. A
// log-only failure (a new error line, with no change to metrics or span
// status) shows in it and nowhere else.
const LogRecords = "logs"

// warnOrWorse is logtemplate.WarnOrWorse in SQL: the severity names slog,
// OTLP and syslog give warnings, errors and the levels above, in any case.
const warnOrWorse = `match(upper(severity), '^\\s*(WARN|ERR|FATAL|CRIT|ALERT|EMERG|PANIC|SEVERE)')`

// logSeconds are, per 1-second bucket (b) in which the service sent any
// telemetry (a log record of any severity, or a span), its warning and
// error records (w). A second with telemetry but no warning counts as 0,
// so that a healthy baseline with no error lines is a baseline; a second
// with none at all is no data.
const logSeconds = `SELECT b, sum(w) AS w FROM (
  SELECT intDiv(time_unix_nano, 1000000000) AS b, toFloat64(countIf(` + warnOrWorse + `)) AS w FROM logs
  WHERE service = ? AND (? = '' OR model = ?) AND time >= toDateTime(?) AND time <= toDateTime(?)
    AND time_unix_nano >= ? AND time_unix_nano < ?
  GROUP BY b
  UNION ALL
  SELECT DISTINCT intDiv(start_unix_nano, 1000000000) AS b, toFloat64(0) AS w FROM spans
  WHERE service = ? AND time >= toDateTime(?) AND time <= toDateTime(?)
    AND start_unix_nano >= ? AND start_unix_nano < ?
)
GROUP BY b`

func (s Symptom) logArgs(rg Range) []any {
	return []any{s.Service, s.Model, s.Model, seconds(rg.From), seconds(rg.To), rg.From, rg.To,
		s.Service, seconds(rg.From), seconds(rg.To), rg.From, rg.To}
}

// logsByVersion is byVersion for the logs symptom: one row per second, with
// no model version (a rate per second, as span throughput), the second as
// its one point.
func (s Symptom) logsByVersion(rg Range) (string, []any) {
	return `SELECT b, '' AS model, '' AS model_version, w AS s, toFloat64(1) AS total, toUInt64(1) AS n
FROM (` + logSeconds + `)`, s.logArgs(rg)
}

// logBuckets is buckets for the logs symptom.
func (s Symptom) logBuckets(rg Range) (string, []any) {
	return `SELECT b, w AS v, toUInt64(1) AS n FROM (` + logSeconds + `)`, s.logArgs(rg)
}
