package stack

import (
	"context"
	"fmt"
	"time"
)

// Pid is the process id of the running process.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Kill sends SIGKILL, as a crash or the OOM killer would: no drain, no
// flush, no deferred cleanup. It returns once the process is gone.
func (p *Process) Kill() error {
	if err := p.cmd.Process.Kill(); err != nil {
		return fmt.Errorf("kill %s: %w", p.Name, err)
	}
	select {
	case err := <-p.exited:
		p.exited <- err
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s (pid %d) still running 10s after SIGKILL", p.Name, p.Pid())
	}
}

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case err := <-p.exited:
		p.exited <- err
		return true
	default:
		return false
	}
}

// Kill sends SIGKILL to the process name ("nats", "simulator" or a
// service) and waits until it is gone.
func (s *Stack) Kill(name string) error {
	p, ok := s.Procs[name]
	if !ok {
		return fmt.Errorf("no process %q in the stack", name)
	}
	return p.Kill()
}

// Restart starts the process name again, with the same binary, flags and
// environment, after it was killed, and waits until it is ready.
func (s *Stack) Restart(ctx context.Context, name string) error {
	old, ok := s.Procs[name]
	if !ok {
		return fmt.Errorf("no process %q in the stack", name)
	}
	if !old.Exited() {
		return fmt.Errorf("%s (pid %d) is still running; kill it first", name, old.Pid())
	}
	p, err := startProcess(name, old.bin, old.LogPath, old.HTTPURL, old.env, old.args...)
	if err != nil {
		return err
	}
	p.ready = old.ready
	if p.ready != nil && name == natsProcess {
		p.ready = s.natsReady(p)
	}
	s.Procs[name] = p
	for i, q := range s.order {
		if q == old {
			s.order[i] = p
		}
	}
	if name == "simulator" {
		s.Simulator = p
	}
	s.progress("restarted %-10s pid %-7d", name, p.Pid())
	rctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	return p.WaitReady(rctx)
}
