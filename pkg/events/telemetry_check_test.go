package events

import (
	"encoding/json"
	"math"
	"testing"
)

// agreesWithSchema fails when Check and the JSON Schema disagree on b.
func agreesWithSchema(t *testing.T, b TelemetryPoints) {
	t.Helper()
	checkErr := b.Check()
	raw, err := json.Marshal(b)
	if err != nil {
		// Only non-finite values fail to encode; Check must refuse them.
		if checkErr == nil {
			t.Fatalf("Check accepts a batch that does not encode (%v)", err)
		}
		return
	}
	schemaErr := ValidateData(TypeTelemetryPoints, raw)
	if (checkErr == nil) != (schemaErr == nil) {
		t.Fatalf("Check says %v, the schema says %v, for %s", checkErr, schemaErr, truncated(raw))
	}
}

func truncated(raw []byte) string {
	if len(raw) > 300 {
		return string(raw[:300]) + "..."
	}
	return string(raw)
}

func batchOf(n int, p Point) TelemetryPoints {
	b := TelemetryPoints{Source: "sim", Points: make([]Point, n)}
	for i := range b.Points {
		b.Points[i] = p
	}
	return b
}

// Check is held to the schema on every bound the schema states.
func TestPointsCheckAgreesWithSchema(t *testing.T) {
	ok := Point{Name: "prediction.error", Value: 0.5, TimeUnixNano: 1, Service: "model-server"}
	with := func(f func(*Point)) Point { p := ok; f(&p); return p }
	cases := []struct {
		name  string
		batch TelemetryPoints
		valid bool
	}{
		{"valid", batchOf(3, ok), true},
		{"no source", TelemetryPoints{Points: []Point{ok}}, false},
		{"no points", TelemetryPoints{Source: "sim"}, false},
		{"most points", batchOf(maxPointsPerBatch, ok), true},
		{"too many points", batchOf(maxPointsPerBatch+1, ok), false},
		{"empty name", batchOf(1, with(func(p *Point) { p.Name = "" })), false},
		{"empty service", batchOf(1, with(func(p *Point) { p.Service = "" })), true},
		{"largest value", batchOf(1, with(func(p *Point) { p.Value = -1e15 })), true},
		{"value too large", batchOf(1, with(func(p *Point) { p.Value = 1.0000001e15 })), false},
		{"NaN", batchOf(1, with(func(p *Point) { p.Value = math.NaN() })), false},
		{"Inf", batchOf(1, with(func(p *Point) { p.Value = math.Inf(-1) })), false},
		{"time 0", batchOf(1, with(func(p *Point) { p.TimeUnixNano = 0 })), true},
		{"negative time", batchOf(1, with(func(p *Point) { p.TimeUnixNano = -1 })), false},
		{"last time", batchOf(1, with(func(p *Point) { p.TimeUnixNano = maxTimeUnixNano })), true},
		{"after 2100", batchOf(1, with(func(p *Point) { p.TimeUnixNano = maxTimeUnixNano + 1 })), false},
		{"attributes", batchOf(1, with(func(p *Point) { p.Attributes = map[string]string{"": "", "k": "\xff"} })), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.batch.Check() == nil; got != tc.valid {
				t.Fatalf("Check valid = %v, want %v (%v)", got, tc.valid, tc.batch.Check())
			}
			agreesWithSchema(t, tc.batch)
		})
	}
}

// FuzzPointsCheck holds Check to the schema on arbitrary values.
func FuzzPointsCheck(f *testing.F) {
	f.Add("sim", uint16(1), "m", 0.5, int64(1), "svc", "k", "v")
	f.Add("", uint16(0), "", 1e16, int64(-1), "", "", "")
	f.Add("s", uint16(2), "m", math.Inf(1), int64(maxTimeUnixNano+1), "\xff", "\xfe", "x")
	f.Fuzz(func(t *testing.T, source string, n uint16, name string, value float64, at int64, service, k, v string) {
		b := TelemetryPoints{Source: source}
		for range int(n) % 4 {
			b.Points = append(b.Points, Point{Name: name, Value: value, TimeUnixNano: at, Service: service,
				Attributes: map[string]string{k: v}})
		}
		agreesWithSchema(t, b)
	})
}

// agrees fails when d.Check and the JSON Schema of d's type disagree.
func agrees(t *testing.T, d checkedData) {
	t.Helper()
	checkErr := d.Check()
	raw, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	schemaErr := ValidateData(d.EventType(), raw)
	if (checkErr == nil) != (schemaErr == nil) {
		t.Fatalf("Check says %v, the schema says %v, for %s", checkErr, schemaErr, truncated(raw))
	}
}

const (
	traceHex = "0123456789abcdef0123456789abcdef"
	spanHex  = "0123456789abcdef"
)

// Check of spans and logs is held to their schemas on every bound.
func TestSpansAndLogsCheckAgreeWithSchema(t *testing.T) {
	span := Span{TraceID: traceHex, SpanID: spanHex, Name: "predict", StartUnixNano: 1, EndUnixNano: 2, Service: "model-server"}
	spans := func(f func(*Span)) TelemetrySpans {
		s := span
		f(&s)
		return TelemetrySpans{Source: "sim", Spans: []Span{s}}
	}
	rec := LogRecord{TimeUnixNano: 1, Severity: "WARN", Body: "x", Service: "model-server"}
	logs := func(f func(*LogRecord)) TelemetryLogs {
		r := rec
		f(&r)
		return TelemetryLogs{Source: "sim", Records: []LogRecord{r}}
	}
	cases := []struct {
		name  string
		data  checkedData
		valid bool
	}{
		{"span", spans(func(*Span) {}), true},
		{"no spans", TelemetrySpans{Source: "sim"}, false},
		{"no source", TelemetrySpans{Spans: []Span{span}}, false},
		{"upper-case trace id", spans(func(s *Span) { s.TraceID = "0123456789ABCDEF0123456789abcdef" }), false},
		{"short span id", spans(func(s *Span) { s.SpanID = "0123" }), false},
		{"parent", spans(func(s *Span) { s.ParentSpanID = spanHex }), true},
		{"bad parent", spans(func(s *Span) { s.ParentSpanID = "xyz" }), false},
		{"no name", spans(func(s *Span) { s.Name = "" }), false},
		{"kind", spans(func(s *Span) { s.Kind = "server" }), true},
		{"bad kind", spans(func(s *Span) { s.Kind = "SERVER" }), false},
		{"status 2", spans(func(s *Span) { s.StatusCode = 2 }), true},
		{"status 3", spans(func(s *Span) { s.StatusCode = 3 }), false},
		{"no service", spans(func(s *Span) { s.Service = "" }), false},
		{"negative start", spans(func(s *Span) { s.StartUnixNano = -1 }), false},
		{"end after 2100", spans(func(s *Span) { s.EndUnixNano = maxTimeUnixNano + 1 }), false},
		{"record", logs(func(*LogRecord) {}), true},
		{"no records", TelemetryLogs{Source: "sim"}, false},
		{"no severity", logs(func(r *LogRecord) { r.Severity = "" }), false},
		{"empty body", logs(func(r *LogRecord) { r.Body = "" }), true},
		{"record without service", logs(func(r *LogRecord) { r.Service = "" }), false},
		{"trace and span", logs(func(r *LogRecord) { r.TraceID, r.SpanID = traceHex, spanHex }), true},
		{"bad trace", logs(func(r *LogRecord) { r.TraceID = "abc" }), false},
		{"bad span", logs(func(r *LogRecord) { r.SpanID = spanHex + "0" }), false},
		{"record after 2100", logs(func(r *LogRecord) { r.TimeUnixNano = maxTimeUnixNano + 1 }), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.data.Check() == nil; got != tc.valid {
				t.Fatalf("Check valid = %v, want %v (%v)", got, tc.valid, tc.data.Check())
			}
			agrees(t, tc.data)
		})
	}
}

// FuzzSpansAndLogsCheck holds Check to the schemas on arbitrary values.
func FuzzSpansAndLogsCheck(f *testing.F) {
	f.Add("sim", traceHex, spanHex, "", "predict", "server", uint8(2), int64(1), "svc", "WARN")
	f.Add("", "x", "", "\xff", "", "SERVER", uint8(9), int64(-1), "", "")
	f.Fuzz(func(t *testing.T, source, trace, span, parent, name, kind string, status uint8, at int64, service, severity string) {
		agrees(t, TelemetrySpans{Source: source, Spans: []Span{{TraceID: trace, SpanID: span, ParentSpanID: parent, Name: name,
			Kind: kind, StatusCode: status, StartUnixNano: at, EndUnixNano: at, Service: service}}})
		agrees(t, TelemetryLogs{Source: source, Records: []LogRecord{{TimeUnixNano: at, Severity: severity, Body: name,
			TraceID: trace, SpanID: span, Service: service}}})
	})
}
