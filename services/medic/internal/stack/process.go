package stack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Process is one service running as its own OS process.
type Process struct {
	Name    string
	HTTPURL string
	LogPath string
	cmd     *exec.Cmd
	exited  chan error
	// bin, env and args start the process again after a kill (Restart).
	bin  string
	env  []string
	args []string
	// ready, when set, replaces the /readyz poll (NATS has no HTTP port).
	ready func(context.Context) error
}

// startProcess runs bin with env added to the current environment; its
// output (JSON logs) goes to logPath.
func startProcess(name, bin, logPath, httpURL string, env []string, args ...string) (*Process, error) {
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%s binary: %w (run `make build` first, or pass --bin-dir)", name, err)
	}
	// A restarted process appends to the log of the one it replaces, so the
	// log tells the whole story of a run.
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// A process group of its own: a Ctrl-C in the terminal reaches medic,
	// which then stops the services in order, rather than all at once.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close() // nothing was written; the start error is the one to report
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{Name: name, HTTPURL: httpURL, LogPath: logPath, cmd: cmd, exited: make(chan error, 1),
		bin: bin, env: env, args: args}
	go func() {
		p.exited <- cmd.Wait()
		// The child wrote the log through its own descriptor; closing ours
		// has nothing to flush.
		_ = logFile.Close()
	}()
	return p, nil
}

// WaitReady polls /readyz until it answers 200, the process exits, or ctx
// ends.
func (p *Process) WaitReady(ctx context.Context) error {
	if p.ready != nil {
		return p.ready(ctx)
	}
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get(p.HTTPURL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-p.exited:
			p.exited <- err
			// err is nil after a clean exit, which %w would print as %!w(<nil>).
			return fmt.Errorf("%s exited before it was ready (%v); see %s", p.Name, err, p.LogPath) //nolint:errorlint // err may be nil
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w; see %s", p.Name, ctx.Err(), p.LogPath)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Stop sends SIGTERM, so the service drains and flushes, and waits; after
// the grace period it kills the process.
func (p *Process) Stop(grace time.Duration) error {
	if p.cmd.Process == nil {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exited:
		p.exited <- err
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return fmt.Errorf("%s exited with %w; see %s", p.Name, err, p.LogPath)
		}
		return nil
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		return fmt.Errorf("%s did not stop within %s and was killed; see %s", p.Name, grace, p.LogPath)
	}
}

// handedOut holds every port FreeAddr has returned in this process. A
// port is free only until something binds it, and the kernel hands a
// closed listener's port out again: without it, two services of one
// stack were given the same port (ingest and correlator, seen in CI).
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// FreeAddr returns a loopback address with a port nobody listens on now
// and that this process has not handed out before.
func FreeAddr() (string, error) {
	handedOut.Lock()
	defer handedOut.Unlock()
	for try := 0; try < 100; try++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		addr := l.Addr().(*net.TCPAddr)
		// The listener only picked a port number; if closing it failed,
		// the service that binds the port reports that itself.
		_ = l.Close()
		if !handedOut.ports[addr.Port] {
			handedOut.ports[addr.Port] = true
			return addr.String(), nil
		}
	}
	return "", errors.New("no loopback port left that this process has not handed out; restart it")
}

func binPath(dir, name string) string { return filepath.Join(dir, name) }
