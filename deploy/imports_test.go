package deploy

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os/exec"
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

// Domain packages (services/*/internal/* but each service's internal/app
// wiring) import neither the CloudEvents SDK nor the bus: handlers get typed
// data and events.Meta, and say how to settle through pkg/outcome. The
// medic CLI operates the bus (its streams, users and dead letters), so only
// the CloudEvents rule holds for it.
func TestDomainPackagesStayOffTheTransport(t *testing.T) {
	root := filepath.Join("..", "services")
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
		t.Errorf("%s imports %s: a domain package takes typed data (bus.On in internal/app) and returns pkg/outcome errors", rel, strings.Join(bad, ", "))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The CloudEvents SDK stays inside pkg/events and pkg/bus (and
// pkg/servicetest, which reads raw streams for tests): no other package of
// Medic, shared or in a service, builds or reads a CloudEvent itself.
func TestCloudEventsStayInEventsAndBus(t *testing.T) {
	allowed := []string{"pkg/events", "pkg/bus", "pkg/servicetest"}
	for _, root := range []string{"pkg", "services"} {
		err := filepath.WalkDir(filepath.Join("..", root), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel("..", path)
			rel = filepath.ToSlash(rel)
			if d.IsDir() {
				if slices.Contains(allowed, rel) || d.Name() == "testdata" {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
				return nil
			}
			bad, err := edgeImports(path, false)
			if err != nil {
				return err
			}
			if len(bad) > 0 {
				t.Errorf("%s imports %s: build and read events through pkg/events and pkg/bus", rel, strings.Join(bad, ", "))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
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

// The simulator is the watched system, and plays a user's: it reaches Medic
// only through the front door (OTLP, /v1/changes, Kafka), so neither its
// code nor its tests may link anything of Medic's pkg/ or schemas/.
func TestSimulatorLinksNothingOfMedic(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "-test", "./...")
	cmd.Dir = filepath.Join("..", "services", "simulator")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list in services/simulator: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/medic-sre/medic/pkg") || strings.HasPrefix(pkg, "github.com/medic-sre/medic/schemas") {
			t.Errorf("the simulator links %s; a watched system knows Medic only by its OTLP endpoint, /v1/changes and Kafka", pkg)
		}
	}
}
