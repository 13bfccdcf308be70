package reliability

import (
	"encoding/json"

	"github.com/medic-sre/medic/pkg/events"
)

// Event is one of Medic's events as the harness reads it: its metadata,
// and its data as its type's Go value (events.Parse).
type Event = events.Item[events.Data]

// Field is one top-level string field of an event's JSON data.
func Field(ev Event, name string) string {
	raw, err := json.Marshal(ev.Data)
	if err != nil {
		return ""
	}
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	s, _ := m[name].(string)
	return s
}

// ids counts events by one field of their data.
func ids(evs []Event, name string) map[string]int {
	out := map[string]int{}
	for _, ev := range evs {
		out[Field(ev, name)]++
	}
	return out
}

func fields(evs []Event, name string) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, Field(ev, name))
	}
	return out
}

func eventIDs(evs []Event) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Meta.ID)
	}
	return out
}
