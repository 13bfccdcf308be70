package changes

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// Problem is what is wrong with one change of a request: its index in the
// request (0 for a single object), the field, and why.
type Problem struct {
	Index   int    `json:"index"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	if p.Field == "" {
		return fmt.Sprintf("change %d: %s", p.Index, p.Message)
	}
	return fmt.Sprintf("change %d: %s: %s", p.Index, p.Field, p.Message)
}

// Parse turns one posted change into Medic's change.recorded data. The body
// is the event's data as its JSON Schema has it, except that the time may
// be given as "time" in RFC 3339 instead of time_unix_nano (and is now
// when both are missing), and that change_id may be left out: it is then
// derived from the content, so that a retry gets the same id.
func Parse(index int, raw json.RawMessage, now time.Time) (events.ChangeRecorded, []Problem) {
	bad := func(field, format string, args ...any) (events.ChangeRecorded, []Problem) {
		return events.ChangeRecorded{}, []Problem{{Index: index, Field: field, Message: fmt.Sprintf(format, args...)}}
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return bad("", "is not a JSON object")
	}
	if t, ok := fields["time"]; ok {
		if _, both := fields["time_unix_nano"]; both {
			return bad("time", "give time or time_unix_nano, not both")
		}
		ns, err := rfc3339(t)
		if err != nil {
			return bad("time", "%v", err)
		}
		delete(fields, "time")
		fields["time_unix_nano"] = json.RawMessage(strconv.FormatInt(ns, 10))
	}
	if _, ok := fields["change_id"]; !ok {
		id, err := derivedID(fields)
		if err != nil {
			return bad("", "%v", err)
		}
		fields["change_id"] = id
	}
	if _, ok := fields["time_unix_nano"]; !ok {
		fields["time_unix_nano"] = json.RawMessage(strconv.FormatInt(now.UnixNano(), 10))
	}
	data, err := json.Marshal(fields)
	if err != nil {
		return bad("", "%v", err)
	}
	if err := events.ValidateData(events.TypeChangeRecorded, data); err != nil {
		return events.ChangeRecorded{}, schemaProblems(index, err)
	}
	var c events.ChangeRecorded
	if err := json.Unmarshal(data, &c); err != nil {
		return bad("", "%v", err)
	}
	if strings.TrimSpace(c.Service) == "" {
		// The schema takes an empty string, but a change of no service is
		// one the RCA can never match to an incident.
		return bad("service", "is empty: name the service that changed")
	}
	return c, nil
}

// rfc3339 reads a JSON string in RFC 3339 as Unix nanoseconds, within the
// years the schema's time_unix_nano allows.
func rfc3339(raw json.RawMessage) (int64, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, errors.New(`is not a string; want RFC 3339 such as "2026-11-30T10:00:00Z"`)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, fmt.Errorf(`%q is not RFC 3339 (such as "2026-11-30T10:00:00Z")`, s)
	}
	if t.Year() < 1970 || t.Year() >= 2100 {
		return 0, fmt.Errorf("%q is outside 1970-2099", s)
	}
	return t.UnixNano(), nil
}

// derivedID is a change id derived from the change's content as posted
// (its fields in sorted order, values compacted), so that the same change
// posted again is the same event, which JetStream's duplicate window
// drops. A change without a time is keyed by its other fields only: the
// same one posted again within that window is recorded once.
func derivedID(fields map[string]json.RawMessage) (json.RawMessage, error) {
	canon, err := json.Marshal(fields)
	if err != nil {
		return nil, err
	}
	return json.Marshal(events.DerivedID("change.recorded", string(canon)))
}

// schemaProblems names the fields a JSON Schema validation error is about.
func schemaProblems(index int, err error) []Problem {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []Problem{{Index: index, Message: err.Error()}}
	}
	var out []Problem
	for _, u := range ve.BasicOutput().Errors {
		if u.Error == nil {
			continue
		}
		field := strings.ReplaceAll(strings.TrimPrefix(u.InstanceLocation, "/"), "/", ".")
		switch k := u.Error.Kind.(type) {
		case *kind.Group, *kind.Schema, *kind.Reference:
			continue
		case *kind.Required:
			field = strings.Join(k.Missing, ", ")
		case *kind.AdditionalProperties:
			field = strings.Join(k.Properties, ", ")
		}
		out = append(out, Problem{Index: index, Field: field, Message: u.Error.String()})
	}
	if len(out) == 0 {
		out = append(out, Problem{Index: index, Message: err.Error()})
	}
	return out
}
