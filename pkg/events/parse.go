package events

import (
	"fmt"

	cloudevents "github.com/cloudevents/sdk-go/v2"
)

// decoders decodes the data of each event type Medic publishes into its Go
// type.
var decoders = map[string]func(cloudevents.Event) (Data, error){}

func init() {
	register[TelemetryPoints]()
	register[TelemetrySpans]()
	register[TelemetryLogs]()
	register[ChangeRecorded]()
	register[AnomalyDetected]()
	register[AnomalyResolved]()
	register[IncidentOpened]()
	register[IncidentUpdated]()
	register[IncidentTransition]()
	register[RCACompleted]()
	register[RemediationStarted]()
	register[RemediationSucceeded]()
	register[RemediationFailed]()
	register[RemediationEscalated]()
	register[NotificationSent]()
}

func register[T Data]() {
	for _, t := range TypesOf[T]() {
		decoders[t] = func(ev cloudevents.Event) (Data, error) { return As[T](ev) }
	}
}

// Parse decodes and validates a structured CloudEvent of any type Medic
// publishes, for tools that read every type (the demo): its metadata, and
// its data as the type's Go value (AnomalyDetected, IncidentTransition...).
// Consumers that handle known types use bus.On instead.
func Parse(raw []byte) (Item[Data], error) {
	ev, err := Decode(raw)
	if err != nil {
		return Item[Data]{}, err
	}
	decode, ok := decoders[ev.Type()]
	if !ok {
		return Item[Data]{}, fmt.Errorf("%w %q: no Go type (retired?)", ErrUnknownType, ev.Type())
	}
	d, err := decode(ev)
	if err != nil {
		return Item[Data]{}, err
	}
	return Item[Data]{Meta: MetaOf(ev), Data: d}, nil
}
