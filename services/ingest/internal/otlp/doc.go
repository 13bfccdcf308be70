// Package otlp receives OpenTelemetry metrics, traces and logs over OTLP
// (gRPC and HTTP, protobuf and JSON) and turns them into Medic's telemetry
// events, published through a Publisher. Decoding is the Collector's pdata;
// this package only maps.
//
// # Mapping
//
// Every record gets Service from the resource's service.name
// ("unknown_service" when absent, as the OpenTelemetry specification says),
// and Model and ModelVersion from ml.model.name and ml.model.version, taken
// from the record's own attributes first and the resource's second. Those
// two keys become columns and leave the attributes. Of the resource's other
// attributes only the ones that say where a record comes from are kept:
// service.namespace, service.instance.id, service.version,
// deployment.environment(.name), host.name and every k8s.* key. A record's
// own attributes are all kept; values that are not strings are rendered as
// text (maps and arrays as JSON).
//
// Metrics (one OTLP data point may become several Medic points):
//   - gauge: <name> = the value.
//   - sum, delta: <name> = the delta as sent; for a monotonic sum also
//     <name>_rate = delta / (time - start time) per second.
//   - sum, cumulative and monotonic: <name> = the running total as sent, and
//     <name>_rate = the increase per second since the previous point of the
//     same series seen by this receiver. The first point of a series, and
//     the first after a reset (the total drops or the start time changes),
//     yields no rate. The state is kept in memory, bounded by
//     Config.MaxTrackedSeries (points of further series are rejected), and
//     series idle for Config.SeriesIdle are forgotten. A retried point
//     (same time and value as the latest) yields the same rate again, so a
//     retried request maps to the same events.
//     The state is per receiver: with several ingest instances a series
//     gets rates where consecutive exports reach the same instance, which
//     long-lived gRPC connections and HTTP keep-alive make the common case;
//     an export that lands elsewhere yields the total without a rate.
//   - sum, cumulative and not monotonic (an up-down counter): <name> as a gauge.
//   - histogram (explicit buckets): Prometheus' layout, so that quantiles can
//     be computed as histogram_quantile does: <name>_bucket with attribute
//     le = the upper bound ("+Inf" for the last), holding the count of
//     values up to that bound (le-cumulative), <name>_count and, when
//     present, <name>_sum. Whatever the temporality, every stored point
//     counts one export interval, so that summing a series' _bucket values
//     per le over a time window gives that window's distribution.
//   - histogram, delta: as sent, plus <name>_min and <name>_max when present.
//   - histogram, cumulative (every SDK's default): the increase of each
//     bucket, of the count and of the sum since the previous point of the
//     same series seen by this receiver. The first point of a series, and
//     the first after a reset (the count or a bucket's count drops, the
//     start time changes, or the bucket bounds change), is stored whole
//     when its interval, time minus start time, is at most
//     Config.FirstIntervalMax (default two minutes: a freshly started
//     process); otherwise, or without a start time, it only seeds the state
//     and yields no point. A point older than the series' latest yields no
//     point; a retried point (same time and counts as the latest) yields
//     the same increase again. The state is kept and bounded as for
//     cumulative sums (Config.MaxTrackedSeries, Config.SeriesIdle) and is
//     per receiver in the same way; an export that reaches an instance new
//     to the series only seeds its state there, but a series whose exports
//     keep alternating between instances gets intervals counted twice
//     (each instance subtracts its own previous point). <name>_min and
//     <name>_max are not kept: a cumulative histogram's cover the series'
//     whole life, not the interval.
//   - histogram without a temporality (invalid in OTLP): taken as delta.
//   - summary: <name> with attribute quantile per quantile, <name>_sum and
//     <name>_count.
//   - exponential histogram: rejected (reason unsupported_type); SDKs send
//     explicit buckets unless told otherwise.
//
// Data points flagged "no recorded value" (staleness markers) are skipped.
//
// Spans keep trace, span and parent ids (lowercase hex), name, kind, start
// and end, status code and message, and attributes; span events and links
// are not kept. Logs keep the time (the observed time when the record has
// none), the severity, the body as text, the trace and span ids and the
// attributes. Severity: a severity number maps onto slog's names (1-8
// DEBUG, 9-12 INFO, 13-16 WARN, 17-24 ERROR, so that FATAL counts as an
// error); without one the text is used, upper-cased, WARNING read as WARN,
// and FATAL or CRITICAL as ERROR. A sender's text that the name does not
// repeat is kept in the attribute log.severity_text.
//
// # Rejections
//
// Items are checked one by one, and a bad item is rejected on its own: the
// rest of the request is still published, and the answer is an OTLP partial
// success with the rejected count and a message naming each reason. Each
// rejection is counted in medic_ingest_otlp_rejected_total by signal and
// reason. A series is a metric name with its service, model, version and
// attributes (one OTLP data point stream, before a histogram is spread over
// buckets); past Config.MaxSeriesPerService series of one service, or
// Config.MaxTrackedSeries in all, new series are rejected
// (cardinality_limit, with a message naming the limit). The rejected counts
// in partial success are OTLP data points, spans and log records, except
// for item_too_large and invalid_event, which count Medic points (a
// histogram's buckets are several). Timestamps in the past are accepted as they are (backfill); ones
// more than Config.MaxFutureSkew ahead of the receiver's clock are rejected.
//
// # Delivery
//
// The request's context reaches the Publisher, so a trace that the
// transport's instrumentation (otelhttp, otelgrpc) extracts from the
// request travels on with the events. A request is answered with success
// only after the Publisher acknowledged
// every event it produced. Events hold at most Config.MaxEventItems items
// and about Config.MaxEventBytes of data, and their ids are derived from a
// hash of their content, so a client's retry of the same request publishes
// the same ids, which JetStream's duplicate window folds. A failed publish
// answers 503 / UNAVAILABLE, too many requests at once 429 /
// RESOURCE_EXHAUSTED, both with a retry delay, so that SDKs retry.
package otlp
