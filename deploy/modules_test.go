package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// moduleJobs bounds how many go commands the module checks run at once: each
// one is a whole build or module graph load, and `make test` runs other
// packages' tests beside these.
const moduleJobs = 2

// The Dockerfile builds one service module with GOWORK=off and CGO_ENABLED=0,
// copying only that module, pkg and schemas. These tests hold every module to
// that: tidy on its own, buildable on its own, and a go.work.sum that needs no
// update when the workspace is loaded.

// TestModulesTidy fails when any module of the workspace has a go.mod or
// go.sum that `go mod tidy` would change, checked outside the workspace as
// the image build sees it.
func TestModulesTidy(t *testing.T) {
	forEachModule(t, workspaceModules(t), func(t *testing.T, dir string) {
		out, err := goCmd(dir, []string{"GOWORK=off"}, "mod", "tidy", "-diff")
		if err != nil {
			t.Errorf("module %s is not tidy (run `GOWORK=off go mod tidy` there):\n%s", rel(dir), out)
		}
	})
}

// TestProgramsBuild builds every program module the way the Dockerfile does.
func TestProgramsBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every program; skipped with -short")
	}
	bin := t.TempDir()
	var programs []string
	for _, dir := range workspaceModules(t) {
		if isProgram(t, dir) {
			programs = append(programs, dir)
		}
	}
	if len(programs) == 0 {
		t.Fatal("no program module found in the workspace")
	}
	forEachModule(t, programs, func(t *testing.T, dir string) {
		out := filepath.Join(bin, filepath.Base(dir))
		if msg, err := goCmd(dir, []string{"GOWORK=off", "CGO_ENABLED=0"}, "build", "-o", out, "."); err != nil {
			t.Errorf("GOWORK=off CGO_ENABLED=0 go build in %s: %v\n%s", rel(dir), err, msg)
		}
	})
}

// TestWorkSumComplete loads every package of the workspace, tests included,
// against a copy of go.work and go.work.sum, and fails when the go command
// had to add lines to the copy: the committed go.work.sum is then incomplete,
// and `go vet` or `go test` at the root would change it. The copy keeps the
// tree untouched, so the test is safe beside other go commands.
func TestWorkSumComplete(t *testing.T) {
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	want := committedWorkSum(t, root)
	work := copyWorkspace(t, root, want)
	patterns := make([]string, 0)
	for _, dir := range workspaceModules(t) {
		patterns = append(patterns, dir+"/...")
	}
	env := []string{"GOWORK=" + work, "GOFLAGS=-mod=readonly"}
	args := append([]string{"list", "-deps", "-test", "-f", "{{.ImportPath}}"}, patterns...)
	if out, err := goCmd(root, env, args...); err != nil {
		t.Fatalf("go list in workspace mode: %v\n%s", err, tail(out))
	}
	got, err := os.ReadFile(filepath.Join(filepath.Dir(work), "go.work.sum"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("go.work.sum is incomplete: loading the workspace changes it (run `go list -deps -test $(go list -m -f '{{.Dir}}/...')` at the root, then stage and commit go.work.sum)\n%s",
			lineDiff(string(want), string(got)))
	}
}

// committedWorkSum returns go.work.sum as staged in git. The go command that
// runs this test already completes the tree's go.work.sum while it loads the
// workspace, so the tree's copy cannot tell whether the committed one was
// complete. Outside a git checkout it falls back to the tree's file.
func committedWorkSum(t *testing.T, root string) []byte {
	t.Helper()
	cmd := exec.Command("git", "show", ":go.work.sum")
	cmd.Dir = root
	if out, err := cmd.Output(); err == nil {
		return out
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.work.sum"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return sum
}

// workspaceModules lists the directory of every module in go.work, as
// `go list -m` reports them, so new modules are checked without editing
// this test.
func workspaceModules(t *testing.T) []string {
	t.Helper()
	out, err := goCmd(repoRoot, nil, "list", "-m", "-f", "{{.Dir}}")
	if err != nil {
		t.Fatalf("go list -m: %v\n%s", err, out)
	}
	dirs := strings.Fields(out)
	if len(dirs) == 0 {
		t.Fatal("go list -m listed no module")
	}
	return dirs
}

// isProgram reports whether the module's root package is a main package,
// which is what the Dockerfile builds.
func isProgram(t *testing.T, dir string) bool {
	t.Helper()
	out, err := goCmd(dir, nil, "list", "-e", "-f", "{{.Name}}", ".")
	if err != nil {
		t.Fatalf("go list in %s: %v\n%s", rel(dir), err, out)
	}
	return strings.TrimSpace(out) == "main"
}

// forEachModule runs check on every directory as a subtest, at most
// moduleJobs at a time.
func forEachModule(t *testing.T, dirs []string, check func(t *testing.T, dir string)) {
	t.Helper()
	slots := make(chan struct{}, moduleJobs)
	var wg sync.WaitGroup
	for _, dir := range dirs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			// Subtests run here one by one per goroutine; t.Run is safe to call
			// from several goroutines.
			t.Run(rel(dir), func(t *testing.T) { check(t, dir) })
		}()
	}
	wg.Wait()
}

// copyWorkspace writes a go.work with absolute paths and the given go.work.sum
// into a temporary directory, and returns the go.work path.
func copyWorkspace(t *testing.T, root string, sum []byte) string {
	t.Helper()
	out, err := goCmd(root, nil, "work", "edit", "-json")
	if err != nil {
		t.Fatalf("go work edit -json: %v\n%s", err, out)
	}
	var gowork struct {
		Go        string
		Toolchain string
		Use       []struct{ DiskPath string }
		Replace   []json.RawMessage
	}
	if err := json.Unmarshal([]byte(out), &gowork); err != nil {
		t.Fatal(err)
	}
	if len(gowork.Replace) > 0 {
		t.Fatal("go.work has replace directives; teach copyWorkspace to copy them")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "go %s\n", gowork.Go)
	if gowork.Toolchain != "" {
		fmt.Fprintf(&b, "toolchain %s\n", gowork.Toolchain)
	}
	for _, u := range gowork.Use {
		path := u.DiskPath
		if !filepath.IsAbs(path) {
			path = filepath.Join(root, path)
		}
		fmt.Fprintf(&b, "use %q\n", path)
	}
	dir := t.TempDir()
	work := filepath.Join(dir, "go.work")
	if err := os.WriteFile(work, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if sum != nil {
		if err := os.WriteFile(filepath.Join(dir, "go.work.sum"), sum, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return work
}

// goCmd runs the go command in dir with extra environment variables and
// returns its combined output.
func goCmd(dir string, env []string, args ...string) (string, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// rel names a module directory relative to the repository root.
func rel(dir string) string {
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		return dir
	}
	if r, err := filepath.Rel(root, dir); err == nil {
		return r
	}
	return dir
}

// lineDiff lists the lines only one of two texts has.
func lineDiff(a, b string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	ina, inb := in(a), in(b)
	var d strings.Builder
	for _, l := range strings.Split(b, "\n") {
		if !ina[l] {
			fmt.Fprintf(&d, "+ %s\n", l)
		}
	}
	for _, l := range strings.Split(a, "\n") {
		if !inb[l] {
			fmt.Fprintf(&d, "- %s\n", l)
		}
	}
	return d.String()
}

// tail keeps the last lines of a long command output.
func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}
