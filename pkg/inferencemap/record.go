package inferencemap

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Reasons a record cannot be mapped; each is a label of the rejected-records
// metric. No retry can change such a record, so it is skipped.
const (
	ReasonMalformedJSON = "malformed_json"
	ReasonInvalidUTF8   = "invalid_utf8"
	ReasonWrongType     = "wrong_type"
	ReasonNonFinite     = "non_finite"
	ReasonOutOfRange    = "out_of_range"
	ReasonBadTimestamp  = "bad_timestamp"
	ReasonMissingField  = "missing_field"
	// ReasonInvalidEvent is a record whose points the bus refused as an
	// event (its schema); it should not happen once the checks above pass.
	ReasonInvalidEvent = "invalid_event"
)

// ErrUnmappable marks a record that can never become points.
var ErrUnmappable = errors.New("unmappable record")

// RecordError says why a record cannot become points: Reason is one of the
// Reason constants, Field the JSON path at fault (empty for the whole
// record).
type RecordError struct {
	Reason string
	Field  string
	Msg    string
}

func (e *RecordError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s: %s", e.Reason, e.Msg)
	}
	return fmt.Sprintf("%s: field %s: %s", e.Reason, e.Field, e.Msg)
}

// Is makes every RecordError an ErrUnmappable.
func (e *RecordError) Is(target error) bool { return target == ErrUnmappable }

// Reject is a RecordError of reason at field.
func Reject(reason, field, format string, args ...any) *RecordError {
	return &RecordError{Reason: reason, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// ReasonOf is the reason of a RecordError in err, or "" when there is none.
func ReasonOf(err error) string {
	var re *RecordError
	if errors.As(err, &re) {
		return re.Reason
	}
	return ""
}

// Bounds that the telemetry schema sets on a point.
const (
	maxAbsValue = 1e15
	// MaxUnixNano, 2100-01-01, is the latest time a point may have.
	MaxUnixNano = 4102444800000000000
)

// DecodeObject parses a record as one JSON object, keeping numbers exact
// (a nanosecond timestamp does not fit a float64).
func DecodeObject(raw []byte) (map[string]any, error) {
	if !utf8.Valid(raw) {
		return nil, Reject(ReasonInvalidUTF8, "", "the record is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, Reject(ReasonMalformedJSON, "", "%v", err)
	}
	if obj == nil {
		return nil, Reject(ReasonMalformedJSON, "", "the record is not a JSON object")
	}
	if _, err := dec.Token(); err == nil {
		return nil, Reject(ReasonMalformedJSON, "", "data after the JSON object")
	}
	return obj, nil
}

// lookup follows a dotted path through objects (and arrays, by index).
func lookup(obj map[string]any, path string) (any, bool) {
	var cur any = obj
	for seg := range strings.SplitSeq(path, ".") {
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[seg]
			if !ok {
				return nil, false
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(v) {
				return nil, false
			}
			cur = v[i]
		default:
			return nil, false
		}
	}
	return cur, cur != nil
}

// number reads a value as a finite number within the schema's bounds: a
// JSON number, a boolean (1 or 0) or a string holding a number.
func number(v any, field string) (float64, error) {
	var f float64
	switch x := v.(type) {
	case json.Number:
		var err error
		if f, err = x.Float64(); err != nil {
			return 0, Reject(ReasonOutOfRange, field, "%s does not fit a float64", x)
		}
	case bool:
		if x {
			f = 1
		}
	case string:
		var err error
		if f, err = strconv.ParseFloat(strings.TrimSpace(x), 64); err != nil {
			return 0, Reject(ReasonWrongType, field, "%q is not a number", x)
		}
	default:
		return 0, Reject(ReasonWrongType, field, "a %s is not a number", kind(v))
	}
	return CheckValue(f, field)
}

// CheckValue accepts a finite number within the schema's bounds.
func CheckValue(f float64, field string) (float64, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, Reject(ReasonNonFinite, field, "%v is not a finite number", f)
	}
	if math.Abs(f) > maxAbsValue {
		return 0, Reject(ReasonOutOfRange, field, "%g is beyond ±1e15", f)
	}
	return f, nil
}

// text reads a value as a string; numbers are kept as written.
func text(v any, field string) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	}
	return "", Reject(ReasonWrongType, field, "a %s is not a string", kind(v))
}

// timestamp reads an RFC 3339 string, or a number in unit nanoseconds.
func timestamp(v any, unit int64, field string) (int64, error) {
	var ns int64
	switch x := v.(type) {
	case string:
		t, err := time.Parse(time.RFC3339Nano, x)
		if err != nil {
			return 0, Reject(ReasonBadTimestamp, field, "%q is not an RFC 3339 time", x)
		}
		ns = t.UnixNano()
		if t.Year() < 1970 || t.Year() >= 2100 {
			ns = -1
		}
	case json.Number:
		if i, err := x.Int64(); err == nil && i >= 0 && i <= MaxUnixNano/unit {
			ns = i * unit
			break
		}
		f, err := x.Float64()
		if err != nil || f < 0 || f*float64(unit) > MaxUnixNano {
			return 0, Reject(ReasonBadTimestamp, field, "%s is not a time before 2100 in the configured unit", x)
		}
		ns = int64(f * float64(unit))
	default:
		return 0, Reject(ReasonWrongType, field, "a %s is not a timestamp", kind(v))
	}
	if ns < 0 || ns >= MaxUnixNano {
		return 0, Reject(ReasonBadTimestamp, field, "%v is not between 1970 and 2100", v)
	}
	return ns, nil
}

func kind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "JSON object"
	case []any:
		return "JSON array"
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number:
		return "number"
	}
	return "null"
}
