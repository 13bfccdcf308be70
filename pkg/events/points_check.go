package events

import (
	"errors"
	"fmt"
	"math"
)

// Bounds of the telemetry.points schema, checked in Go when a batch is
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
// from the bus are still validated against the schema.
type checkedData interface {
	Data
	Check() error
}

// Check reports the first way the batch breaks the telemetry.points schema.
func (t TelemetryPoints) Check() error {
	switch {
	case t.Source == "":
		return errors.New("source: empty")
	case len(t.Points) == 0:
		return errors.New("points: none")
	case len(t.Points) > maxPointsPerBatch:
		return fmt.Errorf("points: %d, more than %d", len(t.Points), maxPointsPerBatch)
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
