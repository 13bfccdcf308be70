package kafka

import (
	"time"

	"github.com/medic-sre/medic/pkg/events"
)

// labelDecoder reads a label topic's records.
func labelDecoder(t Topic) decoder {
	m, fallback := t.Mapping, t.SourceName()
	return func(raw []byte, at time.Time) (string, []events.Point, error) {
		pts, err := m.MapLabel(raw, at, fallback)
		return "", pts, err
	}
}
