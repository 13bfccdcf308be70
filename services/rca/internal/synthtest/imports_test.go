package synthtest_test

import (
	"os/exec"
	"strings"
	"testing"
)

// synthtest generates test data: a program that links it ships a fake
// simulator. go list's Imports leaves out _test.go files, so any hit here
// is a non-test import.
func TestOnlyTestsImport(t *testing.T) {
	const self = "github.com/medic-sre/medic/services/rca/internal/synthtest"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "../../...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		for _, imp := range fields[1:] {
			if imp == self {
				t.Errorf("%s imports %s outside its tests", fields[0], self)
			}
		}
	}
}
