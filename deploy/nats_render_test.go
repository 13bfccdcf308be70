package deploy

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/medic-sre/medic/pkg/bus"
)

// update rewrites the NATS users file from bus.Permissions:
// go test ./deploy -run TestNATSAuthConfMatchesPermissions -update.
var update = flag.Bool("update", false, "rewrite "+natsAuthConf+" from bus.Permissions")

const natsAuthHeader = `# NATS users of a closed Medic bus: each Medic service logs in as itself
# and may publish only its own events. Written from bus.Permissions
# (pkg/bus/permissions.go) by
#   cd deploy && go test -run TestNATSAuthConfMatchesPermissions -update
# and checked against it by the deploy tests. See docs/SECURITY.md.
#
# Passwords are never in this file: nats-server reads each from the
# environment variable named after the user (MEDIC_NATS_PASSWORD_DETECTOR,
# ...), which the NATS pod or container takes from the Secret.
`

// renderNATSAuth writes bus.Permissions as a nats-server authorization
// block, each password a variable reference.
func renderNATSAuth() (string, error) {
	var b strings.Builder
	b.WriteString(natsAuthHeader + "authorization {\n  users = [\n")
	for _, u := range bus.Users() {
		g, err := bus.Permissions(u)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "    {\n      user: %s\n      password: $%s\n      permissions: {\n", u, passwordEnv(u))
		fmt.Fprintf(&b, "        publish: {allow: [\n%s        ]}\n", quoted(g.Publish))
		fmt.Fprintf(&b, "        subscribe: {allow: [\n%s        ]}\n", quoted(g.Subscribe))
		b.WriteString("      }\n    }\n")
	}
	b.WriteString("  ]\n}\n")
	return b.String(), nil
}

func quoted(subjects []string) string {
	var b strings.Builder
	for _, s := range subjects {
		fmt.Fprintf(&b, "          %q\n", s)
	}
	return b.String()
}

// updateNATSAuth rewrites the users file when -update is given.
func updateNATSAuth(t *testing.T) {
	t.Helper()
	if !*update {
		return
	}
	text, err := renderNATSAuth()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(natsAuthConf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
