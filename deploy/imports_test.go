package deploy

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Import paths that stay at the edge: the CloudEvents SDK lives in pkg/events
// and pkg/bus, and the bus in each service's internal/app wiring.
const (
	cloudEventsPrefix = "github.com/cloudevents/"
	busPath           = "github.com/medic-sre/medic/pkg/bus"
)

// pendingEdge lists the files that still import the transport, each until
// another item of issue 7 moves it; the test fails once a file no longer
// needs its entry, so that the list only shrinks.
var pendingEdge = map[string]string{
	// Item 4 (one archiver) moves these out of the detector and correlator.
	"services/detector/internal/detect/archive.go":   "archiver: pkg/archive's cloudevents BatchHandler",
	"services/correlator/internal/history/follow.go": "history writer: bus.Backoff, until item 7 gives one backoff",
}

// Domain packages (services/*/internal/* but each service's internal/app
// wiring) import neither the CloudEvents SDK nor the bus: handlers get typed
// data and events.Meta, and say how to settle through pkg/outcome. The
// medic CLI operates the bus (its streams, users and dead letters), so only
// the CloudEvents rule holds for it.
func TestDomainPackagesStayOffTheTransport(t *testing.T) {
	root := filepath.Join("..", "services")
	used := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("..", path)
		rel = filepath.ToSlash(rel)
		parts := strings.Split(rel, "/") // services/<svc>/internal/<pkg>/...
		if d.IsDir() {
			if len(parts) >= 4 && parts[2] == "internal" && parts[3] == "app" || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if len(parts) < 5 || parts[2] != "internal" || !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		bad, err := edgeImports(path, parts[1] != "medic")
		if err != nil {
			return err
		}
		if len(bad) == 0 {
			return nil
		}
		if _, ok := pendingEdge[rel]; ok {
			used[rel] = true
			return nil
		}
		t.Errorf("%s imports %s: a domain package takes typed data (bus.On in internal/app) and returns pkg/outcome errors", rel, strings.Join(bad, ", "))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for rel, why := range pendingEdge {
		if !used[rel] {
			t.Errorf("%s no longer imports the transport (%s): remove it from pendingEdge", rel, why)
		}
	}
}

// edgeImports returns the transport imports of one Go file: CloudEvents,
// and the bus when noBus is set.
func edgeImports(path string, noBus bool) ([]string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
	if err != nil {
		return nil, err
	}
	var bad []string
	for _, imp := range f.Imports {
		p, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(p, cloudEventsPrefix) || noBus && p == busPath {
			bad = append(bad, p)
		}
	}
	slices.Sort(bad)
	return bad, nil
}
