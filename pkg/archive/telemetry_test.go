package archive

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/storetest"
)

// item is d as the bus hands it over: valid against its schema, with its id.
func item[T events.Data](t *testing.T, id string, d T) events.Item[T] {
	t.Helper()
	ev, err := events.NewWithID(id, "test", d)
	if err != nil {
		t.Fatal(err)
	}
	return events.Item[T]{Meta: events.MetaOf(ev), Data: d}
}

func spansEvent(t *testing.T, id string, n int, at int64) events.Item[events.TelemetrySpans] {
	t.Helper()
	b := events.TelemetrySpans{Source: "sim"}
	for i := range n {
		b.Spans = append(b.Spans, events.Span{TraceID: fmt.Sprintf("%032x", at), SpanID: fmt.Sprintf("%016x", i+1),
			Name: "predict", Kind: "server", StartUnixNano: at, EndUnixNano: at + 5e6, StatusCode: 2, Service: "model-server",
			Model: "fraud", ModelVersion: "v2", Attributes: map[string]string{"b": "2", "a": "1"}})
	}
	return item(t, id, b)
}

func logsEvent(t *testing.T, id string, n int, at int64) events.Item[events.TelemetryLogs] {
	t.Helper()
	b := events.TelemetryLogs{Source: "sim"}
	for i := range n {
		b.Records = append(b.Records, events.LogRecord{TimeUnixNano: at + int64(i), Severity: "WARN", Body: "prediction failed",
			Service: "model-server", Model: "fraud", ModelVersion: "v2"})
	}
	return item(t, id, b)
}

// A batch written again (a redelivery after an insert that succeeded but
// was not acked) adds no rows, while the new events in it are written; so
// does a copy in the same batch as its original.
func TestRedeliveredSpansAndLogsAreWrittenOnce(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	now := time.Now().UnixNano()
	first := []events.Item[events.TelemetrySpans]{spansEvent(t, "s1", 3, now), spansEvent(t, "s2", 2, now+1e9)}
	if err := WriteSpans(ctx, s, first); err != nil {
		t.Fatal(err)
	}
	s3 := spansEvent(t, "s3", 4, now+2e9)
	if err := WriteSpans(ctx, s, append(first, s3, s3)); err != nil {
		t.Fatal(err)
	}
	l1 := logsEvent(t, "l1", 3, now)
	logs := []events.Item[events.TelemetryLogs]{l1, logsEvent(t, "l2", 2, now), l1}
	for range 2 {
		if err := WriteLogs(ctx, s, logs); err != nil {
			t.Fatal(err)
		}
	}
	var spans, logRows, uids uint64
	var keys string
	if err := s.Conn().QueryRow(ctx, "SELECT count(), any(arrayStringConcat(attr_keys, ',')) FROM spans").Scan(&spans, &keys); err != nil {
		t.Fatal(err)
	}
	if spans != 9 || keys != "a,b" {
		t.Errorf("spans rows = %d with keys %q, want 9 with keys a,b", spans, keys)
	}
	q := "SELECT count(), uniq(arrayElement(attr_values, indexOf(attr_keys, '" + AttrRecordUID + "'))) FROM logs"
	if err := s.Conn().QueryRow(ctx, q).Scan(&logRows, &uids); err != nil {
		t.Fatal(err)
	}
	if logRows != 5 || uids != 5 {
		t.Errorf("logs rows = %d with %d record uids, want 5 and 5", logRows, uids)
	}
}
