package archive

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/store"
)

// SpanColumns are the columns of the spans table, in SpanRow order.
var SpanColumns = []string{"time", "start_unix_nano", "end_unix_nano", "duration_ns", "trace_id", "span_id",
	"parent_span_id", "service", "name", "kind", "status_code", "status_message", "model", "model_version",
	"attr_keys", "attr_values"}

// LogColumns are the columns of the logs table, in LogRow order.
var LogColumns = []string{"time", "time_unix_nano", "service", "severity", "body", "trace_id", "span_id",
	"model", "model_version", "attr_keys", "attr_values"}

// AttrRecordUID is the attribute (OpenTelemetry's log.record.uid) that
// names a log record written from the bus: the event id and the record's
// index in it. Log records carry no id of their own, and the logs table
// folds nothing, so the archiver finds a redelivered batch by it.
const AttrRecordUID = "log.record.uid"

// WriteSpans writes the spans of telemetry.spans events to the spans table.
// Events whose spans are already there (a redelivered batch whose insert
// had succeeded) are skipped, so that a span is one row.
func WriteSpans(ctx context.Context, s *store.Store, items []events.Item[events.TelemetrySpans]) error {
	batches := make([]events.TelemetrySpans, len(items))
	for i, it := range items {
		batches[i] = it.Data
	}
	written, err := present(ctx, s, "spans", "concat(trace_id, span_id)", spanProbes(batches))
	if err != nil {
		return err
	}
	var rows [][]any
	for _, b := range batches {
		// A redelivered copy can share a batch with its original (both
		// waited in the client's buffer): the first one is written.
		k := spanKey(b.Spans[0])
		if written[k] {
			continue
		}
		written[k] = true
		for _, sp := range b.Spans {
			rows = append(rows, SpanRow(sp))
		}
	}
	return s.Insert(ctx, "spans", SpanColumns, rows)
}

// WriteLogs writes the records of telemetry.logs events to the logs table,
// each with its AttrRecordUID. Events whose records are already there are
// skipped, as in WriteSpans.
func WriteLogs(ctx context.Context, s *store.Store, items []events.Item[events.TelemetryLogs]) error {
	batches := make([]events.TelemetryLogs, len(items))
	probes := make([]probe, len(items))
	for i, it := range items {
		batches[i] = it.Data
		probes[i] = probe{key: recordUID(it.Meta.ID, 0), unixNano: it.Data.Records[0].TimeUnixNano}
	}
	uid := "arrayElement(attr_values, indexOf(attr_keys, '" + AttrRecordUID + "'))"
	written, err := present(ctx, s, "logs", uid, probes)
	if err != nil {
		return err
	}
	var rows [][]any
	for i, b := range batches {
		if written[probes[i].key] {
			continue
		}
		written[probes[i].key] = true
		for j, r := range b.Records {
			rows = append(rows, LogRow(recordUID(items[i].Meta.ID, j), r))
		}
	}
	return s.Insert(ctx, "logs", LogColumns, rows)
}

// SpanRow is a span as a row of the spans table, in SpanColumns order.
func SpanRow(sp events.Span) []any {
	keys, vals := attrs(sp.Attributes)
	kind := sp.Kind
	if kind == "" {
		kind = "unspecified"
	}
	return []any{unixNano(sp.StartUnixNano), sp.StartUnixNano, sp.EndUnixNano, sp.EndUnixNano - sp.StartUnixNano,
		sp.TraceID, sp.SpanID, sp.ParentSpanID, sp.Service, sp.Name, kind, sp.StatusCode, sp.StatusMessage,
		sp.Model, sp.ModelVersion, keys, vals}
}

// LogRow is a log record as a row of the logs table, in LogColumns order,
// with uid as its AttrRecordUID attribute.
func LogRow(uid string, r events.LogRecord) []any {
	keys, vals := attrs(r.Attributes)
	keys, vals = append(keys, AttrRecordUID), append(vals, uid)
	return []any{unixNano(r.TimeUnixNano), r.TimeUnixNano, r.Service, r.Severity, r.Body, r.TraceID, r.SpanID,
		r.Model, r.ModelVersion, keys, vals}
}

func recordUID(eventID string, index int) string { return eventID + "/" + strconv.Itoa(index) }

func spanKey(sp events.Span) string { return sp.TraceID + sp.SpanID }

func spanProbes(batches []events.TelemetrySpans) []probe {
	out := make([]probe, len(batches))
	for i, b := range batches {
		out[i] = probe{key: spanKey(b.Spans[0]), unixNano: b.Spans[0].StartUnixNano}
	}
	return out
}

// attrs are a map's keys and values as the tables' parallel arrays, sorted
// by key so that the same attributes always make the same row.
func attrs(m map[string]string) (keys, vals []string) {
	keys = make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	vals = make([]string, len(keys))
	for i, k := range keys {
		vals[i] = m[k]
	}
	return keys, vals
}

// probe is one event's first row: its key and time. An insert of one
// batch is atomic per partition, so an event whose first row is in the
// table was written whole.
type probe struct {
	key      string
	unixNano int64
}

// present returns the probes' keys that table already holds, found by the
// SQL expression key, within the probes' time range (the tables' time
// column is in seconds).
func present(ctx context.Context, s *store.Store, table, key string, probes []probe) (map[string]bool, error) {
	if len(probes) == 0 {
		return map[string]bool{}, nil
	}
	keys := make([]string, len(probes))
	from, to := probes[0].unixNano, probes[0].unixNano
	for i, p := range probes {
		keys[i] = p.key
		from, to = min(from, p.unixNano), max(to, p.unixNano)
	}
	q := "SELECT DISTINCT " + key + " AS k FROM " + table +
		" WHERE time >= toDateTime(?) AND time <= toDateTime(?) AND has(?, k)"
	rows, err := s.Conn().Query(ctx, q, from/1e9, to/1e9, keys)
	if err != nil {
		return nil, fmt.Errorf("look up %s already written: %w", table, err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("look up %s already written: %w", table, err)
		}
		out[k] = true
	}
	return out, rows.Err()
}
