package callgraph

import (
	"errors"
	"strings"

	"github.com/medic-sre/medic/pkg/config"
)

// File is a static call graph, for systems without traces:
//
//	calls:
//	  frontend: [search, checkout]
//	  checkout: [payments]
type File struct {
	Calls map[string][]string `yaml:"calls"`
}

// Validate checks that every name is set.
func (f *File) Validate() error {
	var errs []error
	if len(f.Calls) == 0 {
		errs = append(errs, config.Field("no calls: list each caller with the services it calls", "calls"))
	}
	for caller, callees := range f.Calls {
		if strings.TrimSpace(caller) == "" {
			errs = append(errs, config.Field("empty caller name", "calls"))
		}
		for i, c := range callees {
			if strings.TrimSpace(c) == "" {
				errs = append(errs, config.Field("empty callee name", "calls", caller, i))
			}
		}
	}
	return errors.Join(errs...)
}

// Graph is the file's calls.
func (f *File) Graph() Graph {
	g := New()
	for caller, callees := range f.Calls {
		for _, c := range callees {
			g.Add(Edge{Caller: caller, Callee: c})
		}
	}
	return g
}

// Load reads a static call graph from a YAML file; errors read
// "file:line: field path: problem".
func Load(path string) (Graph, error) {
	var f File
	if err := config.LoadFile(path, &f); err != nil {
		return Graph{}, err
	}
	return f.Graph(), nil
}
