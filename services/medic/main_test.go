package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The medic binary is an operator's tool, not a service: it must not link
// the service runtime (pkg/service), with its flags, HTTP server, telemetry
// export and metrics registry.
func TestCLIDoesNotLinkTheServiceRuntime(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if p == "github.com/medic-sre/medic/pkg/service" {
			t.Fatalf("the medic binary links %s; share what it needs through small packages (pkg/flagenv, pkg/store) instead", p)
		}
	}
}
