package frontdoor

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// metricRow is one row of the metrics table.
type metricRow struct {
	Name                string
	Value               float64
	TimeUnixNano        int64
	Model, ModelVersion string
	Attrs               map[string]string
	EventID             string
	PointIndex          uint32
}

func (r metricRow) String() string {
	return fmt.Sprintf("%s=%g %v (model %q %q)", r.Name, r.Value, r.Attrs, r.Model, r.ModelVersion)
}

// metrics is every row of service's metrics, oldest first.
func (d *door) metrics(t *testing.T, service string) []metricRow {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rows, err := d.store.Conn().Query(ctx, `SELECT name, value, time_unix_nano, model, model_version, attr_keys, attr_values,
		event_id, point_index FROM metrics WHERE service = ? ORDER BY time_unix_nano, name`, service)
	if err != nil {
		t.Fatalf("query metrics of %s: %v", service, err)
	}
	defer rows.Close()
	var out []metricRow
	for rows.Next() {
		var r metricRow
		var keys, values []string
		if err := rows.Scan(&r.Name, &r.Value, &r.TimeUnixNano, &r.Model, &r.ModelVersion, &keys, &values, &r.EventID, &r.PointIndex); err != nil {
			t.Fatal(err)
		}
		r.Attrs = zipAttrs(keys, values)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// spanRow is one row of the spans table.
type spanRow struct {
	TraceID, SpanID, ParentSpanID, Name, Kind string
	StatusCode                                uint8
	StatusMessage, Model, ModelVersion        string
	Attrs                                     map[string]string
}

// spans is every row of service's spans.
func (d *door) spans(t *testing.T, service string) []spanRow {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rows, err := d.store.Conn().Query(ctx, `SELECT trace_id, span_id, parent_span_id, name, kind, status_code, status_message,
		model, model_version, attr_keys, attr_values FROM spans WHERE service = ? ORDER BY start_unix_nano`, service)
	if err != nil {
		t.Fatalf("query spans of %s: %v", service, err)
	}
	defer rows.Close()
	var out []spanRow
	for rows.Next() {
		var r spanRow
		var keys, values []string
		if err := rows.Scan(&r.TraceID, &r.SpanID, &r.ParentSpanID, &r.Name, &r.Kind, &r.StatusCode, &r.StatusMessage,
			&r.Model, &r.ModelVersion, &keys, &values); err != nil {
			t.Fatal(err)
		}
		r.Attrs = zipAttrs(keys, values)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// logRow is one row of the logs table.
type logRow struct {
	TimeUnixNano                                         int64
	Severity, Body, TraceID, SpanID, Model, ModelVersion string
	Attrs                                                map[string]string
}

// logs is every row of service's logs, oldest first.
func (d *door) logs(t *testing.T, service string) []logRow {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rows, err := d.store.Conn().Query(ctx, `SELECT time_unix_nano, severity, body, trace_id, span_id, model, model_version,
		attr_keys, attr_values FROM logs WHERE service = ? ORDER BY time_unix_nano`, service)
	if err != nil {
		t.Fatalf("query logs of %s: %v", service, err)
	}
	defer rows.Close()
	var out []logRow
	for rows.Next() {
		var r logRow
		var keys, values []string
		if err := rows.Scan(&r.TimeUnixNano, &r.Severity, &r.Body, &r.TraceID, &r.SpanID, &r.Model, &r.ModelVersion, &keys, &values); err != nil {
			t.Fatal(err)
		}
		r.Attrs = zipAttrs(keys, values)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func zipAttrs(keys, values []string) map[string]string {
	m := make(map[string]string, len(keys))
	for i, k := range keys {
		if i < len(values) {
			m[k] = values[i]
		}
	}
	return m
}

// wantPoint is a metric row a test expects: its name, attributes it must
// have, and its value.
type wantPoint struct {
	name  string
	attrs map[string]string
	value float64
}

func (w wantPoint) String() string { return fmt.Sprintf("%s%v=%g", w.name, w.attrs, w.value) }

// missingPoints lists the wanted points that no row matches, each with the
// rows of that name there are.
func missingPoints(rows []metricRow, want []wantPoint) string {
	var missing []string
	for _, w := range want {
		var same []string
		found := false
		for _, r := range rows {
			if r.Name != w.name {
				continue
			}
			same = append(same, r.String())
			if r.Value == w.value && hasAttrs(r.Attrs, w.attrs) {
				found = true
			}
		}
		if !found {
			missing = append(missing, fmt.Sprintf("%s (rows of that name: %v)", w, same))
		}
	}
	if len(missing) == 0 {
		return ""
	}
	return fmt.Sprintf("%d metric rows missing: %s", len(missing), strings.Join(missing, "; "))
}

func hasAttrs(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}
