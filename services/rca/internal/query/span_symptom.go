package query

import "fmt"

// SpanSignal is a symptom read from a service's spans rather than from a
// metric: what every traced service has, whatever metrics it exports.
type SpanSignal string

// Span signals, per 1-second bucket of the spans' start.
const (
	// SpanLatency is the mean duration of the service's entry spans, in
	// milliseconds.
	SpanLatency SpanSignal = "latency"
	// SpanErrors is the share of the service's entry spans whose status is
	// error.
	SpanErrors SpanSignal = "error"
	// SpanThroughput is the number of the service's entry spans per second.
	SpanThroughput SpanSignal = "throughput"
)

// SpanSignals lists the span signals, for messages.
var SpanSignals = []SpanSignal{SpanLatency, SpanErrors, SpanThroughput}

// entrySpans are the spans through which requests enter one service in a
// range, each once (see SelfBehaviour on copies): its server and consumer
// spans, and its root spans, whatever their kind. Client and internal
// spans below them are parts of the same requests; counting them too would
// mix the latency of a call with that of its parts.
const entrySpans = `SELECT start_unix_nano, model, model_version, duration_ns, status_code FROM spans
WHERE service = ? AND (? = '' OR name = ?) AND (? = '' OR model = ?)
  AND (kind IN ('server', 'consumer') OR parent_span_id = '')
  AND time >= toDateTime(?) AND time <= toDateTime(?)
  AND start_unix_nano >= ? AND start_unix_nano < ?
LIMIT 1 BY trace_id, span_id`

// spanMass is, per signal, the symptom's numerator (s) and the mass it is a
// share of (total) over a group of entry spans, as symptomMass is for
// metrics. Throughput is a count per second: its mass is the bucket, so
// its rows must not be split by model version.
var spanMass = map[SpanSignal]string{
	SpanLatency:    `toFloat64(sum(duration_ns)) / 1000000 AS s, toFloat64(count()) AS total`,
	SpanErrors:     `toFloat64(sum(status_code = 2)) AS s, toFloat64(count()) AS total`,
	SpanThroughput: `toFloat64(count()) AS s, toFloat64(1) AS total`,
}

func (s Symptom) spanArgs(rg Range) []any {
	return []any{s.Service, s.Operation, s.Operation, s.Model, s.Model, seconds(rg.From), seconds(rg.To), rg.From, rg.To}
}

// spansByVersion is byVersion for a span signal. A throughput row is the
// whole bucket, with no model version.
func (s Symptom) spansByVersion(rg Range) (string, []any) {
	const q = `SELECT intDiv(start_unix_nano, 1000000000) AS b, %s, %s, count() AS n
FROM (%s)
GROUP BY b, model, model_version`
	versions := "model, model_version"
	if s.Span == SpanThroughput {
		versions = "'' AS model, '' AS model_version"
	}
	return fmt.Sprintf(q, versions, s.mass(), entrySpans), s.spanArgs(rg)
}

// spanBuckets is buckets for a span signal.
func (s Symptom) spanBuckets(rg Range) (string, []any) {
	q := `SELECT b, s / total AS v, n FROM (
  SELECT intDiv(start_unix_nano, 1000000000) AS b, ` + s.mass() + `, count() AS n
  FROM (` + entrySpans + `)
  GROUP BY b
)
WHERE total > 0`
	return q, s.spanArgs(rg)
}

// mass is the symptom's spanMass. A signal not in SpanSignals (which
// ParseSpanSignal keeps out) yields SQL the server rejects, rather than
// another signal's numbers.
func (s Symptom) mass() string {
	if m, ok := spanMass[s.Span]; ok {
		return m
	}
	return "unknown span signal " + string(s.Span)
}

// ParseSpanSignal is the span signal named s, and false when s names none.
func ParseSpanSignal(s string) (SpanSignal, bool) {
	for _, sig := range SpanSignals {
		if string(sig) == s {
			return sig, true
		}
	}
	return "", false
}
