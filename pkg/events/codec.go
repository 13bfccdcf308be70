// Package events defines Medic's CloudEvent types and turns them into and out
// of CloudEvents 1.0 (structured JSON mode), checking each against the JSON
// Schema published for its type in schemas/events.
package events

import (
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"
)

// idNamespace scopes derived event ids, so they never collide with random ones.
var idNamespace = uuid.MustParse("6f1c1c9e-3c55-4d7e-9b55-7a4f0c6a0d11")

// New builds a validated CloudEvent with a random id.
func New(source string, data Data) (cloudevents.Event, error) {
	return NewWithID(uuid.NewString(), source, data)
}

// DerivedID returns a stable event id for the output of handling an input
// event: a redelivered input yields the same id, which JetStream's duplicate
// window and the events table then fold.
func DerivedID(parts ...string) string {
	return uuid.NewHash(sha1.New(), idNamespace, []byte(strings.Join(parts, "\x00")), 5).String()
}

// NewWithID builds a validated CloudEvent with the given id.
func NewWithID(id, source string, data Data) (cloudevents.Event, error) {
	ev := cloudevents.NewEvent()
	ev.SetID(id)
	ev.SetSource(source)
	ev.SetType(data.EventType())
	ev.SetSubject(data.EventSubject())
	ev.SetTime(time.Now().UTC())
	ev.SetDataSchema(SchemaURL(data.EventType()))
	if c, ok := data.(checkedData); ok {
		// Checked before encoding: a NaN would not even encode.
		if err := c.Check(); err != nil {
			return ev, fmt.Errorf("%w: %s: %w", ErrInvalid, data.EventType(), err)
		}
	}
	if err := ev.SetData(cloudevents.ApplicationJSON, data); err != nil {
		return ev, fmt.Errorf("encode %s: %w", data.EventType(), err)
	}
	if _, ok := data.(checkedData); ok {
		return ev, validateEnvelope(ev)
	}
	return ev, Validate(ev)
}

// Validate checks the CloudEvents envelope and the data's JSON Schema.
func Validate(ev cloudevents.Event) error {
	if err := validateEnvelope(ev); err != nil {
		return err
	}
	return ValidateData(ev.Type(), ev.Data())
}

func validateEnvelope(ev cloudevents.Event) error {
	if err := ev.Validate(); err != nil {
		return fmt.Errorf("%w: envelope: %w", ErrInvalid, err)
	}
	if !strings.HasPrefix(ev.Type(), typePrefix) {
		return fmt.Errorf("%w %q", ErrUnknownType, ev.Type())
	}
	return nil
}

// Encode renders an event in structured JSON mode.
func Encode(ev cloudevents.Event) ([]byte, error) { return json.Marshal(ev) }

// Decode parses a structured JSON CloudEvent and validates it.
func Decode(raw []byte) (cloudevents.Event, error) {
	ev := cloudevents.NewEvent()
	if err := json.Unmarshal(raw, &ev); err != nil {
		return ev, fmt.Errorf("%w: not a CloudEvent: %w", ErrInvalid, err)
	}
	return ev, Validate(ev)
}

// As decodes an event's data into T after checking that T is a type for
// the event's (see TypesOf).
func As[T Data](ev cloudevents.Event) (T, error) {
	var out T
	if types := TypesOf[T](); !slices.Contains(types, ev.Type()) {
		return out, fmt.Errorf("%w: want %s, got %s", ErrInvalid, strings.Join(types, " or "), ev.Type())
	}
	if err := json.Unmarshal(ev.Data(), &out); err != nil {
		return out, fmt.Errorf("%w: %s data: %w", ErrInvalid, ev.Type(), err)
	}
	if s, ok := any(&out).(typeSetter); ok {
		s.setEventType(ev.Type())
	}
	return out, nil
}

// multiTyped is a payload type that several event types share
// (IncidentTransition); typeSetter learns which one it was decoded from.
type (
	multiTyped interface{ EventTypes() []string }
	typeSetter interface{ setEventType(eventType string) }
)

// TypesOf lists the event types whose data decodes into T: its EventType,
// or every type of a payload that several types share.
func TypesOf[T Data]() []string {
	var zero T
	if m, ok := any(zero).(multiTyped); ok {
		return m.EventTypes()
	}
	return []string{zero.EventType()}
}

// Meta is what a handler may need of an event besides its data.
type Meta struct {
	ID      string
	Type    string
	Source  string
	Subject string
	Time    time.Time
	// Traceparent is the W3C trace context the event was published under
	// (the CloudEvents distributed-tracing extension), or empty.
	Traceparent string
}

// Item is one event as a handler gets it: its metadata and its data.
type Item[T Data] struct {
	Meta Meta
	Data T
}

// Raw is an event of any type with its data as it is on the wire: for the
// archiver, which stores every event whatever its type.
type Raw struct {
	Meta Meta
	Data json.RawMessage
}

// MetaOf returns an event's metadata.
func MetaOf(ev cloudevents.Event) Meta {
	tp, _ := ev.Extensions()["traceparent"].(string)
	return Meta{ID: ev.ID(), Type: ev.Type(), Source: ev.Source(), Subject: ev.Subject(), Time: ev.Time(), Traceparent: tp}
}

// Subject is the NATS subject an event type is published on:
// "medic.telemetry.<rest>" for telemetry, "medic.events.<rest>" otherwise,
// where rest is the type without its "dev.medic." prefix.
func Subject(eventType string) string {
	rest := strings.TrimPrefix(eventType, typePrefix)
	if strings.HasPrefix(rest, "telemetry.") {
		return "medic." + rest
	}
	return "medic.events." + rest
}
