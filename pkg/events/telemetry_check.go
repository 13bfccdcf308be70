package events

import (
	"errors"
	"fmt"
	"math"
)

// Bounds of the telemetry schemas, checked in Go when a batch is
// built from a Go value (see checkedData).
const (
	maxPointsPerBatch = 10000
	maxAbsValue       = 1e15
	maxTimeUnixNano   = 4102444800000000000 // 2100-01-01
)

// checkedData is a payload that checks itself against its JSON Schema,
// exactly: a differential test holds Check to the schema. NewWithID uses
// it instead of the generic schema validator, which costs two thirds of
// the CPU of publishing telemetry (issue 8): a batch built from a Go value
// can only break its schema through values, not through shape. Events read
// from the bus are decoded strictly into the Go type and then checked the
// same way (see Read).
type checkedData interface {
	Data
	Check() error
}

// Check reports the first way the batch breaks the telemetry.points schema.
func (t TelemetryPoints) Check() error {
	if err := checkBatch(t.Source, "points", len(t.Points)); err != nil {
		return err
	}
	for i, p := range t.Points {
		switch {
		case p.Name == "":
			return fmt.Errorf("points[%d].name: empty", i)
		case math.IsNaN(p.Value) || p.Value < -maxAbsValue || p.Value > maxAbsValue:
			return fmt.Errorf("points[%d].value: %v, not within ±%g", i, p.Value, maxAbsValue)
		case p.TimeUnixNano < 0 || p.TimeUnixNano > maxTimeUnixNano:
			return fmt.Errorf("points[%d].time_unix_nano: %d, not within 0 and %d (2100-01-01)", i, p.TimeUnixNano, int64(maxTimeUnixNano))
		}
	}
	return nil
}

// checkBatch checks what every telemetry batch shares: a source, and
// between 1 and maxPointsPerBatch items.
func checkBatch(source, field string, n int) error {
	switch {
	case source == "":
		return errors.New("source: empty")
	case n == 0:
		return fmt.Errorf("%s: none", field)
	case n > maxPointsPerBatch:
		return fmt.Errorf("%s: %d, more than %d", field, n, maxPointsPerBatch)
	}
	return nil
}

// spanKinds are the kinds the telemetry.spans schema allows; empty is
// omitted from the JSON.
var spanKinds = map[string]bool{"": true, "unspecified": true, "internal": true, "server": true,
	"client": true, "producer": true, "consumer": true}

// isHex reports whether s is n lowercase hex digits.
func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func checkTime(field string, i int, ns int64) error {
	if ns < 0 || ns > maxTimeUnixNano {
		return fmt.Errorf("%s[%d]: %d, not within 0 and %d (2100-01-01)", field, i, ns, int64(maxTimeUnixNano))
	}
	return nil
}

// Check reports the first way the batch breaks the telemetry.spans schema.
func (t TelemetrySpans) Check() error {
	if err := checkBatch(t.Source, "spans", len(t.Spans)); err != nil {
		return err
	}
	for i, s := range t.Spans {
		switch {
		case !isHex(s.TraceID, 32):
			return fmt.Errorf("spans[%d].trace_id: %q, not 32 lowercase hex digits", i, s.TraceID)
		case !isHex(s.SpanID, 16):
			return fmt.Errorf("spans[%d].span_id: %q, not 16 lowercase hex digits", i, s.SpanID)
		case s.ParentSpanID != "" && !isHex(s.ParentSpanID, 16):
			return fmt.Errorf("spans[%d].parent_span_id: %q, not empty or 16 lowercase hex digits", i, s.ParentSpanID)
		case s.Name == "":
			return fmt.Errorf("spans[%d].name: empty", i)
		case !spanKinds[s.Kind]:
			return fmt.Errorf("spans[%d].kind: %q is not an OTLP span kind", i, s.Kind)
		case s.StatusCode > 2:
			return fmt.Errorf("spans[%d].status_code: %d, not 0, 1 or 2", i, s.StatusCode)
		case s.Service == "":
			return fmt.Errorf("spans[%d].service: empty", i)
		}
		if err := checkTime("spans.start_unix_nano", i, s.StartUnixNano); err != nil {
			return err
		}
		if err := checkTime("spans.end_unix_nano", i, s.EndUnixNano); err != nil {
			return err
		}
	}
	return nil
}

// Check reports the first way the batch breaks the telemetry.logs schema.
func (t TelemetryLogs) Check() error {
	if err := checkBatch(t.Source, "records", len(t.Records)); err != nil {
		return err
	}
	for i, r := range t.Records {
		switch {
		case r.Severity == "":
			return fmt.Errorf("records[%d].severity: empty", i)
		case r.Service == "":
			return fmt.Errorf("records[%d].service: empty", i)
		case r.TraceID != "" && !isHex(r.TraceID, 32):
			return fmt.Errorf("records[%d].trace_id: %q, not empty or 32 lowercase hex digits", i, r.TraceID)
		case r.SpanID != "" && !isHex(r.SpanID, 16):
			return fmt.Errorf("records[%d].span_id: %q, not empty or 16 lowercase hex digits", i, r.SpanID)
		}
		if err := checkTime("records.time_unix_nano", i, r.TimeUnixNano); err != nil {
			return err
		}
	}
	return nil
}
