package events

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"

	"github.com/medic-sre/medic/schemas"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// ErrUnknownType means no JSON Schema is published for an event type.
var ErrUnknownType = errors.New("unknown event type")

// ErrInvalid means an event broke its envelope rules or its JSON Schema.
var ErrInvalid = errors.New("invalid event")

var (
	compileOnce sync.Once
	compiled    map[string]*jsonschema.Schema
	compileErr  error
)

// SchemaURL is the dataschema of an event type: where its JSON Schema lives.
func SchemaURL(eventType string) string { return schemaBaseURL + eventType + ".json" }

// KnownTypes lists every event type with a published schema.
func KnownTypes() []string {
	loadSchemas()
	out := make([]string, 0, len(compiled))
	for t := range compiled {
		out = append(out, t)
	}
	return out
}

// loadSchemas compiles the embedded schemas once; they ship with the binary,
// so a failure here is a build defect, reported on every validation.
func loadSchemas() {
	compileOnce.Do(func() {
		compiled = map[string]*jsonschema.Schema{}
		c := jsonschema.NewCompiler()
		names, err := fs.Glob(schemas.Events, "events/*.json")
		if err != nil {
			compileErr = err
			return
		}
		for _, name := range names {
			raw, err := schemas.Events.ReadFile(name)
			if err != nil {
				compileErr = err
				return
			}
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
			if err != nil {
				compileErr = fmt.Errorf("schema %s: %w", name, err)
				return
			}
			eventType := strings.TrimSuffix(strings.TrimPrefix(name, "events/"), ".json")
			if err := c.AddResource(SchemaURL(eventType), doc); err != nil {
				compileErr = fmt.Errorf("schema %s: %w", name, err)
				return
			}
		}
		for _, name := range names {
			eventType := strings.TrimSuffix(strings.TrimPrefix(name, "events/"), ".json")
			sch, err := c.Compile(SchemaURL(eventType))
			if err != nil {
				compileErr = fmt.Errorf("schema %s: %w", name, err)
				return
			}
			compiled[eventType] = sch
		}
	})
}

// ValidateData checks an event's JSON data against its type's schema.
func ValidateData(eventType string, data []byte) error {
	loadSchemas()
	if compileErr != nil {
		return compileErr
	}
	sch, ok := compiled[eventType]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownType, eventType)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%w: %s data is not JSON: %w", ErrInvalid, eventType, err)
	}
	if err := sch.Validate(doc); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalid, eventType, err)
	}
	return nil
}
