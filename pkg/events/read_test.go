package events

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

const readEnvelope = `{"specversion":"1.0","id":"e1","type":"%s","source":"x","datacontenttype":"application/json","data":%s}`

// Read refuses, with ErrInvalid and a reason, telemetry the schema refuses
// through its shape or values, and gives back the decoded data of what it
// takes; other types still go through their schema.
func TestReadChecksTelemetryWithoutTheSchema(t *testing.T) {
	const point = `{"name":"m","value":1,"time_unix_nano":1,"service":"a"}`
	cases := []struct {
		name, eventType, data string
		reason                string // empty: valid
	}{
		{"points", TypeTelemetryPoints, `{"source":"s","points":[` + point + `]}`, ""},
		{"unknown point field", TypeTelemetryPoints, `{"source":"s","points":[{"name":"m","value":1,"time_unix_nano":1,"service":"a","x":1}]}`, "unknown field: x"},
		{"unknown batch field", TypeTelemetryPoints, `{"source":"s","points":[` + point + `],"x":1}`, "unknown field: x"},
		{"value as a string", TypeTelemetryPoints, `{"source":"s","points":[{"name":"m","value":"1","time_unix_nano":1,"service":"a"}]}`, "Point.Value"},
		{"fractional time", TypeTelemetryPoints, `{"source":"s","points":[{"name":"m","value":1,"time_unix_nano":1.5,"service":"a"}]}`, "Point.TimeUnixNano"},
		{"attribute not a string", TypeTelemetryPoints, `{"source":"s","points":[{"name":"m","value":1,"time_unix_nano":1,"service":"a","attributes":{"k":1}}]}`, "Point.Attributes"},
		{"value out of bounds", TypeTelemetryPoints, `{"source":"s","points":[{"name":"m","value":-2e15,"time_unix_nano":1,"service":"a"}]}`, "points[0].value"},
		{"no source", TypeTelemetryPoints, `{"points":[` + point + `]}`, "source: empty"},
		{"data not an object", TypeTelemetryPoints, `[1]`, "data: readObjectStart"},
		{"key in another case", TypeTelemetryPoints, `{"source":"s","points":[{"NAME":"m","value":1,"time_unix_nano":1,"service":"a"}]}`, "unknown field: NAME"},
		{"spans", TypeTelemetrySpans, `{"source":"s","spans":[{"trace_id":"0123456789abcdef0123456789abcdef","span_id":"0123456789abcdef","name":"n","start_unix_nano":1,"end_unix_nano":2,"service":"a"}]}`, ""},
		{"upper-case span id", TypeTelemetrySpans, `{"source":"s","spans":[{"trace_id":"0123456789abcdef0123456789abcdef","span_id":"0123456789ABCDEF","name":"n","start_unix_nano":1,"end_unix_nano":2,"service":"a"}]}`, "span_id"},
		{"logs", TypeTelemetryLogs, `{"source":"s","records":[{"time_unix_nano":1,"severity":"INFO","body":"b","service":"a"}]}`, ""},
		{"record without severity", TypeTelemetryLogs, `{"source":"s","records":[{"time_unix_nano":1,"severity":"","body":"b","service":"a"}]}`, "severity: empty"},
		{"change", TypeChangeRecorded, `{"change_id":"c","kind":"deploy","service":"a","time_unix_nano":1}`, ""},
		{"change of an unknown kind", TypeChangeRecorded, `{"change_id":"c","kind":"teleport","service":"a","time_unix_nano":1}`, "kind"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev, data, err := Read(fmt.Appendf(nil, readEnvelope, tc.eventType, tc.data))
			schemaErr := ValidateData(tc.eventType, []byte(tc.data))
			if (schemaErr == nil) != (tc.reason == "") {
				t.Fatalf("the schema says %v: the case is wrong", schemaErr)
			}
			if tc.reason != "" {
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.reason) {
					t.Fatalf("Read error %v, want ErrInvalid saying %q", err, tc.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, checked := checkedReaders[tc.eventType]
			if checked != (data != nil) {
				t.Fatalf("data %v for %s: want the decoded value for telemetry only", data, ev.Type())
			}
			if data != nil && data.EventType() != tc.eventType {
				t.Fatalf("data of type %s", data.EventType())
			}
		})
	}
}

// What Read decodes equals what As decodes from the same event.
func TestReadDecodesAsAsDoes(t *testing.T) {
	want := TelemetryPoints{Source: "s", Points: []Point{{Name: "m", Value: 1.5, TimeUnixNano: 7, Service: "a", Model: "fraud",
		ModelVersion: "v2", Attributes: map[string]string{"route": "/p"}}}}
	ev, err := NewWithID("e1", "x", want)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	_, data, err := Read(raw)
	if err != nil {
		t.Fatal(err)
	}
	viaAs, err := As[TelemetryPoints](ev)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(data) != fmt.Sprint(viaAs) || fmt.Sprint(data) != fmt.Sprint(want) {
		t.Fatalf("Read gave %+v, As %+v, want %+v", data, viaAs, want)
	}
}

// Only whitespace may follow the data's JSON value.
func TestReadCheckedRefusesTrailingData(t *testing.T) {
	const data = `{"source":"s","points":[{"name":"m","value":1,"time_unix_nano":1,"service":"a"}]}`
	if _, err := readChecked[TelemetryPoints](TypeTelemetryPoints, []byte(data+" \n")); err != nil {
		t.Fatalf("trailing whitespace: %v", err)
	}
	for _, tail := range []string{" x", "{}", "]"} {
		if _, err := readChecked[TelemetryPoints](TypeTelemetryPoints, []byte(data+tail)); !errors.Is(err, ErrInvalid) {
			t.Fatalf("data followed by %q: got %v, want ErrInvalid", tail, err)
		}
	}
}

// Read refuses what is no CloudEvent, as Decode does.
func TestReadRefusesMalformedEnvelopes(t *testing.T) {
	good := fmt.Sprintf(readEnvelope, TypeTelemetryPoints, `{"source":"s","points":[{"name":"m","value":1,"time_unix_nano":1,"service":"a"}]}`)
	for name, raw := range map[string]string{
		"truncated":        good[:len(good)-5],
		"not JSON":         "points",
		"no id":            strings.Replace(good, `"id":"e1",`, "", 1),
		"unknown type":     strings.Replace(good, TypeTelemetryPoints, "dev.medic.telemetry.pointz.v1", 1),
		"data not closed":  strings.TrimSuffix(good, "}"),
		"string not ended": `{"specversion":"1.0","id":"e1`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := Read([]byte(raw)); err == nil {
				t.Fatalf("Read accepted %s", raw)
			}
			if _, err := Decode([]byte(raw)); err == nil {
				t.Fatalf("Decode accepted %s", raw)
			}
		})
	}
}
