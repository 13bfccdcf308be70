package deploy

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/nats-io/nats-server/v2/server"
	corev1 "k8s.io/api/core/v1"
)

// natsAuthConf is the NATS users file that both the Kubernetes base
// (ConfigMap medic-nats-auth) and docker-compose.yml hand to nats-server.
const natsAuthConf = "k8s/nats/medic-auth.conf"

// passwordEnv is the environment variable nats-server reads user's
// password from.
func passwordEnv(user string) string { return "MEDIC_NATS_PASSWORD_" + strings.ToUpper(user) }

// loadNATSUsers reads a nats-server config as nats-server does, with a
// distinct placeholder password in each user's variable, and returns its
// users by name.
func loadNATSUsers(t *testing.T, text string) map[string]*server.User {
	t.Helper()
	for _, u := range bus.Users() {
		t.Setenv(passwordEnv(u), "placeholder-"+u)
	}
	path := filepath.Join(t.TempDir(), "nats.conf")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(path)
	if err != nil {
		t.Fatalf("nats-server rejects the config: %v", err)
	}
	users := map[string]*server.User{}
	for _, u := range opts.Users {
		users[u.Username] = u
	}
	return users
}

// checkNATSUsers reports where users differ from bus.Permissions: a user
// missing or extra, a password not from its variable, or other permissions.
func checkNATSUsers(users map[string]*server.User) error {
	want := bus.Users()
	for name := range users {
		if !slices.Contains(want, name) {
			return fmt.Errorf("user %s is not in bus.Users", name)
		}
	}
	for _, name := range want {
		u, ok := users[name]
		if !ok {
			return fmt.Errorf("no user %s", name)
		}
		if u.Password != "placeholder-"+name {
			return fmt.Errorf("user %s: password does not come from $%s", name, passwordEnv(name))
		}
		g, err := bus.Permissions(name)
		if err != nil {
			return err
		}
		p := u.Permissions
		if p == nil || p.Publish == nil || p.Subscribe == nil {
			return fmt.Errorf("user %s: publish or subscribe is not limited", name)
		}
		if !slices.Equal(p.Publish.Allow, g.Publish) || len(p.Publish.Deny) > 0 {
			return fmt.Errorf("user %s: publish %v, want %v", name, p.Publish.Allow, g.Publish)
		}
		if !slices.Equal(p.Subscribe.Allow, g.Subscribe) || len(p.Subscribe.Deny) > 0 {
			return fmt.Errorf("user %s: subscribe %v, want %v", name, p.Subscribe.Allow, g.Subscribe)
		}
	}
	return nil
}

func TestNATSAuthConfMatchesPermissions(t *testing.T) {
	updateNATSAuth(t)
	text, err := os.ReadFile(natsAuthConf)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkNATSUsers(loadNATSUsers(t, string(text))); err != nil {
		t.Error(err)
	}
}

// The check above catches a config that drifts from the Go table.
func TestNATSAuthConfCheckCatchesDrift(t *testing.T) {
	text, err := os.ReadFile(natsAuthConf)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, old, new string
	}{
		{"detector may publish rca.completed", `"medic.events.anomaly.*.*"`, `"medic.events.anomaly.*.*"
          "medic.events.rca.completed.*"`},
		{"a literal password", "$MEDIC_NATS_PASSWORD_RCA", "hunter2"},
		{"a user dropped", "user: notifier", "user: notifier2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(string(text), tt.old) {
				t.Fatalf("fixture text %q not in %s", tt.old, natsAuthConf)
			}
			edited := strings.Replace(string(text), tt.old, tt.new, 1)
			if err := checkNATSUsers(loadNATSUsers(t, edited)); err == nil {
				t.Error("check passed")
			}
		})
	}
}

// The example Secret names every user and holds no real password.
func TestNATSSecretExample(t *testing.T) {
	text, err := os.ReadFile("k8s/nats/medic-nats.env.example")
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{}
	for line := range strings.Lines(string(text)) {
		line = strings.TrimSpace(line)
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			keys[k] = v
		}
	}
	for _, u := range bus.Users() {
		if v, ok := keys[u]; !ok || !strings.HasPrefix(v, "CHANGE-ME") {
			t.Errorf("key %s = %q, want a CHANGE-ME placeholder", u, v)
		}
	}
}

// checkNATSLogin reports a container that does not log in to NATS as the
// user of its own name with the password the Secret medic-nats keeps under
// that name.
func checkNATSLogin(c *corev1.Container) error {
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	if u := env["NATS_USER"]; u.Value != c.Name {
		return fmt.Errorf("NATS_USER = %q, want %q", u.Value, c.Name)
	}
	pw, ok := env["NATS_PASSWORD"]
	if !ok || pw.Value != "" || pw.ValueFrom == nil || pw.ValueFrom.SecretKeyRef == nil {
		return errors.New("NATS_PASSWORD is not a secretKeyRef")
	}
	if ref := pw.ValueFrom.SecretKeyRef; ref.Name != "medic-nats" || ref.Key != c.Name {
		return fmt.Errorf("NATS_PASSWORD from %s/%s, want medic-nats/%s", ref.Name, ref.Key, c.Name)
	}
	return nil
}

// The base hands the operator's NATS the users file as a ConfigMap.
func TestK8sNATSAuthConfigMap(t *testing.T) {
	cm, ok := renderMedicBase(t).configMaps["medic-nats-auth"]
	if !ok {
		t.Fatal("no ConfigMap medic-nats-auth")
	}
	if err := checkNATSUsers(loadNATSUsers(t, cm.Data["medic-auth.conf"])); err != nil {
		t.Error(err)
	}
}
