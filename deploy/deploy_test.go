package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// repoRoot is the repository root, seen from this package's directory, where
// go test runs.
const repoRoot = ".."

// goServices are the long-running Go programs of the local stack, each built
// from the shared Dockerfile.
var goServices = []string{"detector", "correlator", "rca", "remediator", "notifier", "archiver", "ingest", "simulator"}

// medicServices are the seven Medic services that the Kubernetes base deploys.
var medicServices = []string{"detector", "correlator", "rca", "remediator", "notifier", "archiver", "ingest"}

// dockerfileStage is one FROM section of a Dockerfile.
type dockerfileStage struct {
	image        string
	instructions []string
}

// parseDockerfile splits a Dockerfile into its stages. It joins continued
// lines and drops comments, which is all the checks below need; it is not a
// full Dockerfile parser. Instructions before the first FROM are dropped.
func parseDockerfile(text string) []dockerfileStage {
	var stages []dockerfileStage
	var line string
	for raw := range strings.Lines(text) {
		trimmed := strings.TrimSpace(raw)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		line += trimmed
		if rest, ok := strings.CutSuffix(line, `\`); ok {
			line = rest + " "
			continue
		}
		fields := strings.Fields(line)
		if strings.EqualFold(fields[0], "FROM") && len(fields) > 1 {
			stages = append(stages, dockerfileStage{image: fields[1]})
		} else if len(stages) > 0 {
			last := &stages[len(stages)-1]
			last.instructions = append(last.instructions, line)
		}
		line = ""
	}
	return stages
}

// imageTag returns the tag of an image reference, or "" when it has none.
func imageTag(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	name := ref[strings.LastIndex(ref, "/")+1:]
	_, tag, _ := strings.Cut(name, ":")
	return tag
}

// checkPinned reports an image reference pinned neither by digest nor by a
// tag other than latest.
func checkPinned(ref string) error {
	if strings.Contains(ref, "@sha256:") {
		return nil
	}
	if tag := imageTag(ref); tag == "" || tag == "latest" {
		return fmt.Errorf("image %q is not pinned to a tag", ref)
	}
	return nil
}

// checkServiceArg reports a stage that uses the SERVICE build argument before
// it declares it: Docker would expand it to an empty string there.
func checkServiceArg(stage dockerfileStage) error {
	for _, ins := range stage.instructions {
		if ins == "ARG SERVICE" || strings.HasPrefix(ins, "ARG SERVICE=") {
			return nil
		}
		if strings.Contains(ins, "$SERVICE") || strings.Contains(ins, "${SERVICE}") {
			return fmt.Errorf("stage FROM %s uses SERVICE in %q before ARG SERVICE", stage.image, ins)
		}
	}
	return nil
}

func TestDockerfile(t *testing.T) {
	text, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatalf("read Dockerfile: %v", err)
	}
	stages := parseDockerfile(string(text))
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stages, want a builder and a runtime stage", len(stages))
	}
	builder, runtime := stages[0], stages[len(stages)-1]

	tests := []struct {
		name  string
		check func() error
	}{
		{"every base image is pinned", func() error {
			for _, s := range stages {
				if err := checkPinned(s.image); err != nil {
					return err
				}
			}
			return nil
		}},
		{"builder declares ARG SERVICE", func() error {
			if !slices.Contains(builder.instructions, "ARG SERVICE") {
				return fmt.Errorf("builder stage has no ARG SERVICE")
			}
			return nil
		}},
		{"SERVICE is declared before use in every stage", func() error {
			for _, s := range stages {
				if err := checkServiceArg(s); err != nil {
					return err
				}
			}
			return nil
		}},
		{"builder is static and outside the workspace", func() error {
			env := strings.Join(builder.instructions, "\n")
			for _, want := range []string{"CGO_ENABLED=0", "GOWORK=off"} {
				if !strings.Contains(env, want) {
					return fmt.Errorf("builder stage does not set %s", want)
				}
			}
			return nil
		}},
		{"runtime is distroless nonroot", func() error {
			if !strings.HasPrefix(runtime.image, "gcr.io/distroless/") || imageTag(runtime.image) != "nonroot" {
				return fmt.Errorf("runtime image is %q", runtime.image)
			}
			return nil
		}},
		{"runtime user is numeric and not root", func() error {
			for _, ins := range runtime.instructions {
				if user, ok := strings.CutPrefix(ins, "USER "); ok {
					uid, _, _ := strings.Cut(user, ":")
					n, err := strconv.Atoi(uid)
					switch {
					case err != nil:
						return fmt.Errorf("USER %s is a name: Kubernetes cannot verify runAsNonRoot", user)
					case n == 0:
						return fmt.Errorf("USER %s is root", user)
					}
					return nil
				}
			}
			return fmt.Errorf("runtime stage sets no USER")
		}},
		{"entrypoint is the service binary", func() error {
			want := `ENTRYPOINT ["/usr/local/bin/medic-service"]`
			if !slices.Contains(runtime.instructions, want) {
				return fmt.Errorf("runtime stage has no %s", want)
			}
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.check(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestImageTag(t *testing.T) {
	tests := []struct {
		name, ref, want string
	}{
		{"official image", "nats:2.11.8-alpine", "2.11.8-alpine"},
		{"no tag", "nats", ""},
		{"registry port is not a tag", "localhost:5000/medic", ""},
		{"registry port and tag", "localhost:5000/medic:0.1.0", "0.1.0"},
		{"digest only", "nats@sha256:abc", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := imageTag(tt.ref); got != tt.want {
				t.Errorf("imageTag(%q) = %q, want %q", tt.ref, got, tt.want)
			}
		})
	}
}
