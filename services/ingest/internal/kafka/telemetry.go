package kafka

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/medic-sre/medic/pkg/events"
)

// DecodeTelemetry reads a record of a telemetry topic: one
// events.TelemetryPoints object, or one bare events.Point (an object with a
// "name" and no "points"). Unknown fields are errors, as the schema has
// them. It returns the record's source (empty when it names none) and its
// points, each checked against the schema's bounds.
func DecodeTelemetry(raw []byte) (string, []events.Point, error) {
	obj, err := decodeObject(raw) // UTF-8, syntax, one object
	if err != nil {
		return "", nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if _, batch := obj["points"]; batch {
		var tp events.TelemetryPoints
		if err := dec.Decode(&tp); err != nil {
			return "", nil, reject(ReasonWrongType, "", "not a telemetry points object: %v", err)
		}
		if len(tp.Points) == 0 {
			return "", nil, reject(ReasonMissingField, "points", "no points")
		}
		return tp.Source, tp.Points, checkPoints(tp.Points)
	}
	var p events.Point
	if err := dec.Decode(&p); err != nil {
		return "", nil, reject(ReasonWrongType, "", "not a telemetry point: %v", err)
	}
	pts := []events.Point{p}
	return "", pts, checkPoints(pts)
}

// checkPoints applies the schema's rules that JSON decoding does not.
func checkPoints(pts []events.Point) error {
	for i, p := range pts {
		field := fmt.Sprintf("points[%d]", i)
		if p.Name == "" {
			return reject(ReasonMissingField, field+".name", "a point needs a name")
		}
		if _, err := checkValue(p.Value, field+".value"); err != nil {
			return err
		}
		if p.TimeUnixNano <= 0 || p.TimeUnixNano >= maxUnixNano {
			return reject(ReasonBadTimestamp, field+".time_unix_nano", "%d is not between 1970 and 2100", p.TimeUnixNano)
		}
	}
	return nil
}
