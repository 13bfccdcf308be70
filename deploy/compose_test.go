package deploy

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// loadCompose loads the repository's docker-compose.yml as docker compose
// does: schema validation and consistency checks on, variables interpolated
// from env (and only env, so the host's environment cannot change the result),
// and the given profiles enabled.
func loadCompose(t *testing.T, env []string, profiles ...string) *types.Project {
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
	project, err := opts.LoadProject(t.Context())
	if err != nil {
		t.Fatalf("load docker-compose.yml: %v", err)
	}
	return project
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
	running := append([]string{"nats", "clickhouse"}, goServices...)
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
			if name == "medic" {
				return // The CLI needs only ClickHouse; TestComposeMedicTool checks it.
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
		{"notifier defaults to the simulator's sink", nil, "notifier", "WEBHOOK_URL", "http://simulator:8080/v1/webhook"},
		{"notifier webhook comes from the host env", []string{"MEDIC_WEBHOOK_URL=https://hooks.example.com/x"}, "notifier", "WEBHOOK_URL", "https://hooks.example.com/x"},
		{"log level", nil, "detector", "LOG_LEVEL", "info"},
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

func TestComposeHostPorts(t *testing.T) {
	p := loadCompose(t, nil, "*")
	want := map[string]string{
		"detector": "8081", "correlator": "8082", "rca": "8083",
		"remediator": "8084", "notifier": "8085", "simulator": "8086",
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
			if len(ports) != 1 || ports[0].Published != published || ports[0].Target != 8080 {
				t.Errorf("ports = %+v, want host %s to container 8080", ports, published)
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
