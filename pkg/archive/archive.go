// Package archive records what crosses the bus in ClickHouse: every
// CloudEvent of the events stream as a row of the events table, and the
// telemetry of watched systems as rows of the metrics, spans and logs
// tables. The archiver service runs its consumers.
package archive

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/outcome"
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
// event of MEDIC_EVENTS to events, and each telemetry type to its own
// table. Telemetry is not archived as events: its 75 KB batches in the
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
	}
}

// Handler is the batch handler of the consumer durable (one of
// Consumers), writing through s.
func Handler(durable string, s *store.Store) bus.BatchHandler {
	switch durable {
	case DurableMetrics:
		return typed(events.TypeTelemetryPoints, func(ctx context.Context, evs []cloudevents.Event) error { return WritePoints(ctx, s, evs) })
	case DurableSpans:
		return typed(events.TypeTelemetrySpans, func(ctx context.Context, evs []cloudevents.Event) error { return WriteSpans(ctx, s, evs) })
	case DurableLogs:
		return typed(events.TypeTelemetryLogs, func(ctx context.Context, evs []cloudevents.Event) error { return WriteLogs(ctx, s, evs) })
	}
	return Events(s)
}

// typed passes the events of eventType to h and dead-letters the others
// (an event published on another type's subject), acking the batch only
// once h has written it.
func typed(eventType string, h bus.BatchHandler) bus.BatchHandler {
	return func(ctx context.Context, evs []cloudevents.Event) error {
		keep := evs[:0:0]
		rejected := map[string]error{}
		for _, ev := range evs {
			if ev.Type() != eventType {
				rejected[ev.ID()] = fmt.Errorf("the %s subject carries %s, not %s", events.Subject(eventType), eventType, ev.Type())
				continue
			}
			keep = append(keep, ev)
		}
		if len(keep) > 0 {
			if err := h(ctx, keep); err != nil {
				return fmt.Errorf("archive %d %s events: %w", len(keep), eventType, err)
			}
		}
		return outcome.Reject(rejected)
	}
}

// Events returns a batch handler that writes events to the events table.
// The batch is acked only after the insert succeeded.
func Events(s *store.Store) bus.BatchHandler {
	return func(ctx context.Context, evs []cloudevents.Event) error {
		rows := make([][]any, 0, len(evs))
		for _, ev := range evs {
			rows = append(rows, EventRow(ev))
		}
		return s.Insert(ctx, "events", EventColumns, rows)
	}
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
func EventRow(ev cloudevents.Event) []any {
	var sc scope
	_ = json.Unmarshal(ev.Data(), &sc)
	if sc.Service == "" {
		sc.Service = sc.Source
	}
	var traceID string
	if tp, ok := ev.Extensions()["traceparent"].(string); ok {
		if parts := strings.Split(tp, "-"); len(parts) == 4 {
			traceID = parts[1]
		}
	}
	t := ev.Time()
	return []any{t, t.UnixNano(), ev.ID(), ev.Type(), ev.Source(), ev.Subject(), sc.IncidentID,
		sc.Service, sc.Model, sc.ModelVersion, traceID, string(ev.Data())}
}

// WritePoints writes the points of telemetry events to the metrics table.
// Rows are keyed by event id and index, so a redelivered batch folds.
func WritePoints(ctx context.Context, s *store.Store, evs []cloudevents.Event) error {
	var rows [][]any
	for _, ev := range evs {
		tp, err := events.As[events.TelemetryPoints](ev)
		if err != nil {
			return outcome.Permanent(fmt.Errorf("event %s: %w", ev.ID(), err))
		}
		for i, p := range tp.Points {
			rows = append(rows, PointRow(ev.ID(), i, p))
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
