package ingestbench

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/medic-sre/medic/services/medic/internal/stack"
)

// process is a Medic service binary running for one test.
type process struct {
	name    string
	httpURL string
	cmd     *exec.Cmd
	exited  chan error
}

// startProcess runs the named binary of binDir with env added, logging to
// logDir, and stops it (SIGTERM, so it drains) when the test ends.
func startProcess(t *testing.T, binDir, logDir, name string, env ...string) *process {
	t.Helper()
	httpAddr := freeAddr(t)
	logFile, err := os.Create(filepath.Join(logDir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(binDir, name))
	cmd.Env = append(os.Environ(), append([]string{"HTTP_ADDR=" + httpAddr, "LOG_LEVEL=warn"}, env...)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v (run `make build` first, or set MEDIC_BIN_DIR)", name, err)
	}
	p := &process{name: name, httpURL: "http://" + httpAddr, cmd: cmd, exited: make(chan error, 1)}
	go func() { p.exited <- cmd.Wait(); _ = logFile.Close() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("%s did not stop within 30s; killed", name)
		}
	})
	t.Logf("started %s, pid %d, log %s", name, cmd.Process.Pid, logFile.Name())
	return p
}

// waitReady polls /readyz until it answers 200.
func (p *process) waitReady(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		if resp, err := client.Get(p.httpURL + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-p.exited:
			t.Fatalf("%s exited before it was ready: %v", p.name, err)
		case <-ctx.Done():
			t.Fatalf("%s not ready within 60s", p.name)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// freeAddr returns a loopback address nobody listens on now and that no
// other address of this test binary was given.
func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := stack.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}
