// Package archive records what crosses the bus in ClickHouse: every
// CloudEvent of the events stream as a row of the events table, and the
// telemetry of watched systems as rows of the metrics, spans and logs
// tables. The archiver service runs its consumers.
package archive

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/store"
)

// EventColumns are the columns of the events table, in EventRow order.
var EventColumns = []string{"time", "time_unix_nano", "id", "type", "source", "subject", "incident_id",
	"service", "model", "model_version", "trace_id", "data"}

// MetricColumns are the columns of the metrics table, in PointRow order.
var MetricColumns = []string{"time", "time_unix_nano", "name", "value", "service", "model", "model_version",
	"attr_keys", "attr_values", "event_id", "point_index"}

// Durable names of the archiver's consumers, one per table it writes from
// a stream. Each waits out a ClickHouse outage on its own.
const (
	DurableEvents  = "archiver-events"
	DurableMetrics = "archiver-metrics"
	DurableSpans   = "archiver-spans"
	DurableLogs    = "archiver-logs"
)

// Consumers returns the durable consumers that archive the streams: every
// event of MEDIC_EVENTS to events, each telemetry type to its own table,
// and the log records' templates to log_templates (so that the ingest
// service's backlog guard watches the miner too: the telemetry stream
// drops its oldest messages when full). Telemetry is not archived as events: its 75 KB batches in the
// events table made every granule holding them too big to read (a soak at
// 20,000 points/s broke the RCA's change query after 14 minutes), and its
// content is in metrics, spans and logs already.
func Consumers() []bus.ConsumerSpec {
	telemetry := func(durable, eventType string) bus.ConsumerSpec {
		return bus.ConsumerSpec{Stream: bus.StreamTelemetry, Durable: durable, BatchSize: 500,
			FilterSubjects: []string{events.Subject(eventType)}}
	}
	return []bus.ConsumerSpec{
		{Stream: bus.StreamEvents, Durable: DurableEvents, BatchSize: 500},
		telemetry(DurableMetrics, events.TypeTelemetryPoints),
		telemetry(DurableSpans, events.TypeTelemetrySpans),
		telemetry(DurableLogs, events.TypeTelemetryLogs),
		TemplateConsumer(),
	}
}

// Route is the batch route of the consumer durable (one of Consumers),
// writing through s. The bus decodes each batch once and dead-letters an
// event of another type (one published on the wrong subject) before the
// route sees it; a batch is acked only once its rows are written.
func Route(durable string, s *store.Store) bus.BatchRoute {
	switch durable {
	case DurableMetrics:
		return bus.OnBatch(func(ctx context.Context, items []events.Item[events.TelemetryPoints]) error {
			return WritePoints(ctx, s, items)
		})
	case DurableSpans:
		return bus.OnBatch(func(ctx context.Context, items []events.Item[events.TelemetrySpans]) error {
			return WriteSpans(ctx, s, items)
		})
	case DurableLogs:
		return bus.OnBatch(func(ctx context.Context, items []events.Item[events.TelemetryLogs]) error {
			return WriteLogs(ctx, s, items)
		})
	case DurableLogTemplates:
		// A writer whose metrics nobody scrapes; the archiver makes its
		// own with its registry (NewTemplateWriter).
		return NewTemplateWriter(s, nil, TemplateOptions{}).Route()
	}
	return bus.OnRawBatch(func(ctx context.Context, items []events.Raw) error { return WriteEvents(ctx, s, items) })
}

// WriteEvents writes events of any type to the events table.
func WriteEvents(ctx context.Context, s *store.Store, items []events.Raw) error {
	rows := make([][]any, 0, len(items))
	for _, it := range items {
		rows = append(rows, EventRow(it))
	}
	return s.Insert(ctx, "events", EventColumns, rows)
}

// scope holds the fields the events table lifts out of an event's data.
type scope struct {
	IncidentID   string `json:"incident_id"`
	Service      string `json:"service"`
	Model        string `json:"model"`
	ModelVersion string `json:"model_version"`
	Source       string `json:"source"`
}

// EventRow is an event as a row of the events table, in EventColumns order.
func EventRow(ev events.Raw) []any {
	var sc scope
	_ = json.Unmarshal(ev.Data, &sc)
	if sc.Service == "" {
		sc.Service = sc.Source
	}
	var traceID string
	if parts := strings.Split(ev.Meta.Traceparent, "-"); len(parts) == 4 {
		traceID = parts[1]
	}
	m := ev.Meta
	return []any{m.Time, m.Time.UnixNano(), m.ID, m.Type, m.Source, m.Subject, sc.IncidentID,
		sc.Service, sc.Model, sc.ModelVersion, traceID, string(ev.Data)}
}

// WritePoints writes the points of telemetry events to the metrics table.
// Rows are keyed by event id and index, so a redelivered batch folds.
func WritePoints(ctx context.Context, s *store.Store, items []events.Item[events.TelemetryPoints]) error {
	var rows [][]any
	for _, it := range items {
		for i, p := range it.Data.Points {
			rows = append(rows, PointRow(it.Meta.ID, i, p))
		}
	}
	return s.Insert(ctx, "metrics", MetricColumns, rows)
}

// PointRow is a point as a row of the metrics table.
func PointRow(eventID string, index int, p events.Point) []any {
	keys := make([]string, 0, len(p.Attributes))
	vals := make([]string, 0, len(p.Attributes))
	for k, v := range p.Attributes {
		keys = append(keys, k)
		vals = append(vals, v)
	}
	t := unixNano(p.TimeUnixNano)
	return []any{t, p.TimeUnixNano, p.Name, p.Value, p.Service, p.Model, p.ModelVersion, keys, vals, eventID, uint32(index)}
}
