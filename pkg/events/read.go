package events

import (
	"errors"
	"fmt"
	"io"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	jsoniter "github.com/json-iterator/go"
)

// checkedReaders decode the data of the types that check themselves
// (checkedData) from the wire: strictly into the Go type, then Check.
var checkedReaders = map[string]func(eventType string, data []byte) (Data, error){
	TypeTelemetryPoints: readChecked[TelemetryPoints],
	TypeTelemetrySpans:  readChecked[TelemetrySpans],
	TypeTelemetryLogs:   readChecked[TelemetryLogs],
}

// Read decodes a structured CloudEvent taken from the bus and checks it, as
// Decode does but cheaper for telemetry: the generic JSON Schema validator
// took 61% of the archiver's CPU (issue 8), and a telemetry batch is read
// once per consumer. A telemetry event's data is decoded strictly into its
// Go type (unknown fields and wrong JSON types are refused) and checked by
// its Check, which a differential test holds to the schema; data is that
// value. Every other type is validated against its schema, and data is nil.
//
// What the strict decoding lets through that the schema refuses: a field
// given as null or left out reads as its zero value. Such data is the Go type all the same, within
// the bounds Check enforces; Medic's publishers, which encode Go values,
// never produce it.
func Read(raw []byte) (ev cloudevents.Event, data Data, err error) {
	ev = cloudevents.NewEvent()
	// The envelope's own decoder, called directly: json.Unmarshal would
	// scan a 150 KB event twice before handing it over (checking it, then
	// finding its end), 19% of the archiver's CPU. The decoder refuses
	// malformed JSON itself.
	if err := ev.UnmarshalJSON(raw); err != nil {
		return ev, nil, fmt.Errorf("%w: not a CloudEvent: %w", ErrInvalid, err)
	}
	read, ok := checkedReaders[ev.Type()]
	if !ok {
		return ev, nil, Validate(ev)
	}
	if err := validateEnvelope(ev); err != nil {
		return ev, nil, err
	}
	data, err = read(ev.Type(), ev.Data())
	return ev, data, err
}

// strict decodes telemetry as encoding/json would, but refusing unknown
// fields and keys in another case than the field's, and about three times
// faster: encoding/json took 37% of the archiver's CPU once the schema
// validator was gone (issue 8).
var strict = jsoniter.Config{CaseSensitive: true, DisallowUnknownFields: true}.Froze()

// readChecked decodes data strictly into T and checks it.
func readChecked[T checkedData](eventType string, data []byte) (Data, error) {
	var out T
	it := strict.BorrowIterator(data)
	defer strict.ReturnIterator(it)
	it.ReadVal(&out)
	if it.Error != nil {
		return nil, fmt.Errorf("%w: %s data: %w", ErrInvalid, eventType, it.Error)
	}
	// Only the end of the input may follow: there, the iterator reports
	// io.EOF.
	if it.WhatIsNext(); !errors.Is(it.Error, io.EOF) {
		return nil, fmt.Errorf("%w: %s data: more than one JSON value", ErrInvalid, eventType)
	}
	if err := out.Check(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, eventType, err)
	}
	return out, nil
}
