package reliability

import (
	"encoding/json"

	cloudevents "github.com/cloudevents/sdk-go/v2"
)

type eventT = cloudevents.Event

// Field is one top-level string field of an event's JSON data.
func Field(ev cloudevents.Event, name string) string {
	var m map[string]any
	_ = json.Unmarshal(ev.Data(), &m)
	s, _ := m[name].(string)
	return s
}

// ids counts events by one field of their data.
func ids(evs []cloudevents.Event, name string) map[string]int {
	out := map[string]int{}
	for _, ev := range evs {
		out[Field(ev, name)]++
	}
	return out
}

func fields(evs []cloudevents.Event, name string) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, Field(ev, name))
	}
	return out
}

func eventIDs(evs []cloudevents.Event) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.ID())
	}
	return out
}
