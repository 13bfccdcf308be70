// Package config loads YAML configuration strictly (an unknown field is an
// error) and reports every problem with its file, line and field.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Validator is a configuration that checks itself after decoding. Its
// errors should be FieldErrors so that they can be located in the file.
type Validator interface {
	Validate() error
}

// FieldError is a problem with one field, named by its path from the root,
// for example {"rules", 2, "threshold"}.
type FieldError struct {
	Path []any
	Msg  string
}

// Field builds a FieldError.
func Field(msg string, path ...any) *FieldError { return &FieldError{Path: path, Msg: msg} }

func (e *FieldError) Error() string { return PathString(e.Path) + ": " + e.Msg }

// PathString renders a path as rules[2].threshold.
func PathString(path []any) string {
	var b strings.Builder
	for _, p := range path {
		switch v := p.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", v)
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			fmt.Fprint(&b, v)
		}
	}
	return b.String()
}

// LoadFile reads, decodes and validates a YAML file into v.
func LoadFile(path string, v Validator) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return Load(path, raw, v)
}

// Load decodes and validates YAML; name labels errors (a file path, or
// "embedded rules"). Errors read "name:line: field path: problem".
func Load(name string, raw []byte, v Validator) error {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%s: the file is empty (or only comments); see the embedded defaults in the service's documentation for its shape", name)
		}
		return decodeError(name, err)
	}
	var root yaml.Node
	_ = yaml.Unmarshal(raw, &root)
	err := v.Validate()
	if err == nil {
		return nil
	}
	var msgs []string
	for _, e := range flatten(err) {
		var fe *FieldError
		if errors.As(e, &fe) {
			msgs = append(msgs, fmt.Sprintf("%s:%d: field %s: %s", name, lineOf(&root, fe.Path), PathString(fe.Path), fe.Msg))
		} else {
			msgs = append(msgs, fmt.Sprintf("%s: %v", name, e))
		}
	}
	return errors.New(strings.Join(msgs, "\n"))
}

// decodeError rewrites yaml's "line N: field x not found in type T" into
// "name:N: field x: unknown field".
func decodeError(name string, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("%s: %w", name, err)
	}
	msgs := make([]string, 0, len(te.Errors))
	for _, m := range te.Errors {
		line := "?"
		if rest, ok := strings.CutPrefix(m, "line "); ok {
			if n, after, ok := strings.Cut(rest, ": "); ok {
				line, m = n, after
			}
		}
		if f, ok := strings.CutPrefix(m, "field "); ok {
			f, _, _ = strings.Cut(f, " not found")
			m = "field " + f + ": unknown field (check its spelling)"
		}
		msgs = append(msgs, fmt.Sprintf("%s:%s: %s", name, line, m))
	}
	return errors.New(strings.Join(msgs, "\n"))
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// lineOf finds the line of the deepest node along path.
func lineOf(root *yaml.Node, path []any) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, p := range path {
		next := child(n, p)
		if next == nil {
			break
		}
		n = next
		line = n.Line
	}
	return line
}

func child(n *yaml.Node, p any) *yaml.Node {
	switch n.Kind {
	case yaml.MappingNode:
		key := fmt.Sprint(p)
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				if n.Content[i+1].Kind == yaml.ScalarNode {
					return n.Content[i] // the key's line, where the value sits too
				}
				return n.Content[i+1]
			}
		}
	case yaml.SequenceNode:
		i, ok := p.(int)
		if !ok {
			if n, err := strconv.Atoi(fmt.Sprint(p)); err == nil {
				i, ok = n, true
			}
		}
		if ok && i >= 0 && i < len(n.Content) {
			return n.Content[i]
		}
	}
	return nil
}
