package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/medic-sre/medic/pkg/bus"
)

// loadCompose loads the repository's docker-compose.yml as docker compose
// does: schema validation and consistency checks on, variables interpolated
// from env (and only env, so the host's environment cannot change the result)
// plus placeholder NATS passwords, and the given profiles enabled.
func loadCompose(t *testing.T, env []string, profiles ...string) *types.Project {
	t.Helper()
	project, err := loadComposeErr(t, append(natsPasswordEnv(), env...), profiles...)
	if err != nil {
		t.Fatalf("load docker-compose.yml: %v", err)
	}
	return project
}

// natsPasswordEnv sets every NATS user's password variable to a
// placeholder, as the .env file of docs/SECURITY.md does.
func natsPasswordEnv() []string {
	var env []string
	for _, u := range bus.Users() {
		env = append(env, passwordEnv(u)+"=placeholder-"+u)
	}
	// The webhook signing secret comes from .env too.
	// So do the webhook signing secret and the ingest token.
	return append(env, "MEDIC_WEBHOOK_SECRET=whsec_cGxhY2Vob2xkZXI=", "MEDIC_INGEST_TOKEN=placeholder-token")
}

// loadComposeErr is loadCompose with exactly env, returning the error.
func loadComposeErr(t *testing.T, env []string, profiles ...string) (*types.Project, error) {
	t.Helper()
	opts, err := cli.NewProjectOptions(
		[]string{filepath.Join(repoRoot, "docker-compose.yml")},
		cli.WithWorkingDirectory(repoRoot),
		cli.WithEnv(env),
		cli.WithInterpolation(true),
		cli.WithConsistency(true),
		cli.WithProfiles(profiles),
	)
	if err != nil {
		t.Fatalf("compose options: %v", err)
	}
	return opts.LoadProject(t.Context())
}

// envValue returns a service's environment variable, and whether it is set.
func envValue(svc types.ServiceConfig, key string) (string, bool) {
	v, ok := svc.Environment[key]
	if !ok || v == nil {
		return "", false
	}
	return *v, true
}

func TestComposeServices(t *testing.T) {
	running := append([]string{"nats", "clickhouse", "webhook-sink"}, goServices...)
	tests := []struct {
		name     string
		profiles []string
		want     []string
		disabled []string
	}{
		{"default profile", nil, running, []string{"medic"}},
		{"tools profile adds the CLI", []string{"tools"}, append(slices.Clone(running), "medic"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := loadCompose(t, nil, tt.profiles...)
			got := p.ServiceNames()
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tt.want))
			if !slices.Equal(got, want) {
				t.Errorf("services = %v, want %v", got, want)
			}
			for _, name := range tt.disabled {
				if _, ok := p.DisabledServices[name]; !ok {
					t.Errorf("service %s is not disabled by its profile", name)
				}
			}
		})
	}
}

func TestComposeInfraImagesPinned(t *testing.T) {
	p := loadCompose(t, nil)
	for _, name := range []string{"nats", "clickhouse"} {
		t.Run(name, func(t *testing.T) {
			svc, err := p.GetService(name)
			if err != nil {
				t.Fatal(err)
			}
			if err := checkPinned(svc.Image); err != nil {
				t.Error(err)
			}
			if svc.HealthCheck == nil || len(svc.HealthCheck.Test) == 0 {
				t.Errorf("%s has no healthcheck, so depends_on cannot wait for it", name)
			}
		})
	}
}

// checkGoService reports how a Go service deviates from the shared build and
// environment.
func checkGoService(svc types.ServiceConfig, wantContext string) error {
	if svc.Build == nil {
		return fmt.Errorf("no build section")
	}
	if svc.Build.Context != wantContext || svc.Build.Dockerfile != "Dockerfile" {
		return fmt.Errorf("builds %s/%s, want %s/Dockerfile", svc.Build.Context, svc.Build.Dockerfile, wantContext)
	}
	if arg := svc.Build.Args["SERVICE"]; arg == nil || *arg != svc.Name {
		return fmt.Errorf("build arg SERVICE is not %q", svc.Name)
	}
	want := map[string]string{
		"NATS_URL":            "nats://nats:4222",
		"CLICKHOUSE_ADDR":     "clickhouse:9000",
		"CLICKHOUSE_DATABASE": "medic",
		"HTTP_ADDR":           ":8080",
	}
	if svc.Name == "simulator" {
		// The watched system talks to the front door only.
		want = map[string]string{"HTTP_ADDR": ":8080"}
	}
	for key, value := range want {
		if got, ok := envValue(svc, key); !ok || got != value {
			return fmt.Errorf("%s = %q (set: %v), want %q", key, got, ok, value)
		}
	}
	return nil
}

// checkWaitsForInfra reports a service that starts before NATS and
// ClickHouse are healthy.
func checkWaitsForInfra(svc types.ServiceConfig) error {
	for _, dep := range []string{"nats", "clickhouse"} {
		if d, ok := svc.DependsOn[dep]; !ok || d.Condition != types.ServiceConditionHealthy {
			return fmt.Errorf("does not wait for %s to be healthy", dep)
		}
	}
	return nil
}

func TestComposeGoServices(t *testing.T) {
	p := loadCompose(t, nil, "tools")
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range append(slices.Clone(goServices), "medic") {
		t.Run(name, func(t *testing.T) {
			svc, err := p.GetService(name)
			if err != nil {
				t.Fatal(err)
			}
			if err := checkGoService(svc, root); err != nil {
				t.Error(err)
			}
			switch name {
			case "medic":
				return // The CLI needs only ClickHouse; TestComposeMedicTool checks it.
			case "simulator":
				// A watched system: no NATS, no ClickHouse, only the front door.
				if _, ok := svc.Environment["NATS_URL"]; ok {
					t.Error("the simulator has NATS_URL; it must reach Medic only through the ingest service")
				}
				if _, ok := svc.DependsOn["ingest"]; !ok {
					t.Error("the simulator does not wait for the ingest service it sends to")
				}
				return
			}
			if err := checkWaitsForInfra(svc); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestComposeServiceEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     []string
		service string
		key     string
		want    string
	}{
		{"remediator targets the simulator", nil, "remediator", "SERVING_URL", "http://simulator:8080"},
		{"notifier defaults to the demo's sink", nil, "notifier", "WEBHOOK_URL", "http://webhook-sink:8080/webhook"},
		{"notifier signs with the secret from the host env", nil, "notifier", "WEBHOOK_SECRET", "whsec_cGxhY2Vob2xkZXI="},
		{"the sink verifies with the same secret", nil, "webhook-sink", "WEBHOOK_SECRET", "whsec_cGxhY2Vob2xkZXI="},
		{"notifier webhook comes from the host env", []string{"MEDIC_WEBHOOK_URL=https://hooks.example.com/x"}, "notifier", "WEBHOOK_URL", "https://hooks.example.com/x"},
		{"log level", nil, "detector", "LOG_LEVEL", "info"},
		{"the simulator sends OTLP to the ingest service", nil, "simulator", "OTEL_EXPORTER_OTLP_ENDPOINT", "http://ingest:4318"},
		{"the simulator announces changes to the ingest service", nil, "simulator", "SIM_CHANGES_URL", "http://ingest:8080/v1/changes"},
		{"the simulator's token is the ingest service's", nil, "simulator", "SIM_CHANGES_TOKEN", "placeholder-token"},
		{"the ingest service's token comes from the host env", nil, "ingest", "ALERTS_TOKEN", "placeholder-token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, err := loadCompose(t, tt.env).GetService(tt.service)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := envValue(svc, tt.key); got != tt.want {
				t.Errorf("%s %s = %q, want %q", tt.service, tt.key, got, tt.want)
			}
		})
	}
}

// extraPorts are the ports a service serves besides its runtime's: the
// front door's OTLP receivers, on their standard ports.
var extraPorts = map[string][]uint32{"ingest": {4317, 4318}}

func TestComposeHostPorts(t *testing.T) {
	p := loadCompose(t, nil, "*")
	want := map[string]string{
		"detector": "8081", "correlator": "8082", "rca": "8083",
		"remediator": "8084", "notifier": "8085", "simulator": "8086", "archiver": "8087", "ingest": "8088",
	}
	owner := map[string]string{}
	for _, name := range p.ServiceNames() {
		svc := p.Services[name]
		for _, port := range svc.Ports {
			// Ignore the host IP: 0.0.0.0 would clash with 127.0.0.1 too.
			key := port.Published + "/" + port.Protocol
			if other, ok := owner[key]; ok {
				t.Errorf("host port %s published by both %s and %s", key, other, name)
			}
			owner[key] = name
		}
	}
	for name, published := range want {
		t.Run(name, func(t *testing.T) {
			ports := p.Services[name].Ports
			if len(ports) != 1+len(extraPorts[name]) || ports[0].Published != published || ports[0].Target != 8080 {
				t.Errorf("ports = %+v, want host %s to container 8080, then %v", ports, published, extraPorts[name])
			}
			for i, want := range extraPorts[name] {
				if got := ports[1+i]; got.Target != want || got.Published != fmt.Sprint(want) {
					t.Errorf("port %d = %+v, want %d on the same host port", 1+i, got, want)
				}
			}
		})
	}
}

func TestComposeMedicTool(t *testing.T) {
	svc, err := loadCompose(t, nil, "tools").GetService("medic")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(svc.Profiles, []string{"tools"}) {
		t.Errorf("profiles = %v, want [tools]", svc.Profiles)
	}
	if want := []string{"/usr/local/bin/medic-service"}; !slices.Equal(svc.Entrypoint, want) {
		t.Errorf("entrypoint = %v, want %v", svc.Entrypoint, want)
	}
	if d, ok := svc.DependsOn["clickhouse"]; !ok || d.Condition != types.ServiceConditionHealthy {
		t.Error("medic does not wait for clickhouse to be healthy")
	}
	if len(svc.Ports) != 0 {
		t.Errorf("the CLI publishes ports %+v", svc.Ports)
	}
}

// The compose stack runs a closed bus: nats-server loads the users file,
// gets every password from the environment, and each Go program logs in
// as its own user with the matching password.
func TestComposeClosedBus(t *testing.T) {
	p := loadCompose(t, nil, "tools")
	nats, err := p.GetService("nats")
	if err != nil {
		t.Fatal(err)
	}
	const target = "/etc/nats/medic-auth.conf"
	if i := slices.Index(nats.Command, "-c"); i < 0 || i+1 >= len(nats.Command) || nats.Command[i+1] != target {
		t.Errorf("nats command %v does not load %s", nats.Command, target)
	}
	var source string
	for _, v := range nats.Volumes {
		if v.Target == target && v.Type == types.VolumeTypeBind && v.ReadOnly {
			source = v.Source
		}
	}
	if source == "" {
		t.Fatalf("nats mounts nothing read-only at %s", target)
	}
	text, err := os.ReadFile(source)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkNATSUsers(loadNATSUsers(t, string(text))); err != nil {
		t.Errorf("%s: %v", source, err)
	}
	for _, u := range bus.Users() {
		if got, _ := envValue(nats, passwordEnv(u)); got != "placeholder-"+u {
			t.Errorf("nats %s = %q, want it from the environment", passwordEnv(u), got)
		}
	}
	for _, name := range append(slices.Clone(medicServices), bus.UserCLI) {
		t.Run(name, func(t *testing.T) {
			svc, err := p.GetService(name)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := envValue(svc, "NATS_USER"); got != name {
				t.Errorf("NATS_USER = %q, want %q", got, name)
			}
			if got, _ := envValue(svc, "NATS_PASSWORD"); got != "placeholder-"+name {
				t.Errorf("NATS_PASSWORD = %q, want $%s", got, passwordEnv(name))
			}
		})
	}
}

// No password is written into docker-compose.yml: without them it does not
// load, and says which is missing.
func TestComposeNeedsNATSPasswords(t *testing.T) {
	_, err := loadComposeErr(t, nil)
	if err == nil || !strings.Contains(err.Error(), "MEDIC_NATS_PASSWORD_") {
		t.Errorf("load without passwords: err = %v, want one naming MEDIC_NATS_PASSWORD_", err)
	}
}

// The webhook signing secret is not written into docker-compose.yml either.
func TestComposeNeedsWebhookSecret(t *testing.T) {
	var env []string
	for _, kv := range natsPasswordEnv() {
		if !strings.HasPrefix(kv, "MEDIC_WEBHOOK_SECRET=") {
			env = append(env, kv)
		}
	}
	_, err := loadComposeErr(t, env)
	if err == nil || !strings.Contains(err.Error(), "MEDIC_WEBHOOK_SECRET") {
		t.Errorf("load without the webhook secret: err = %v, want one naming MEDIC_WEBHOOK_SECRET", err)
	}
}
