package stack

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A service that exits because its port was taken (another stack bound it
// between the choice and the bind) is started again on another port, and
// the stack comes up; an exit for any other reason still fails the start.
func TestAServiceThatLostItsPortStartsOnAnother(t *testing.T) {
	bin := t.TempDir()
	for _, name := range []string{"rca", "ingest"} {
		build := exec.Command("go", "build", "-o", filepath.Join(bin, name), "./testdata/portloser")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build the stand-in service: %v\n%s", err, out)
		}
	}
	work := t.TempDir()
	if err := os.MkdirAll(filepath.Join(work, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	mark := filepath.Join(work, "ran-once")
	s := &Stack{cfg: Config{BinDir: bin, WorkDir: work, Env: []string{"MARK=" + mark}}, Procs: map[string]*Process{}}
	first, err := s.start("rca")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	defer func() { _ = s.Procs["rca"].Stop(5 * time.Second) }()
	if err := s.waitReady(ctx); err != nil {
		t.Fatalf("the stack did not come up: %v\n%s", err, LogTails(work, 10))
	}
	if now := s.Procs["rca"]; now == first || now.HTTPURL == first.HTTPURL || s.order[0] != now {
		t.Fatalf("rca still at %s (pid %d): want it started again on another port", now.HTTPURL, now.Pid())
	}

	// Another reason to exit is not retried.
	if err := os.Remove(mark); err != nil {
		t.Fatal(err)
	}
	other := &Stack{cfg: Config{BinDir: bin, WorkDir: t.TempDir(), Env: []string{"MARK=" + mark}}, Procs: map[string]*Process{}}
	if err := os.MkdirAll(filepath.Join(other.cfg.WorkDir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := other.start("ingest"); err != nil { // its address is shared: never moved
		t.Fatal(err)
	}
	if err := other.waitReady(ctx); err == nil || !strings.Contains(err.Error(), "exited before it was ready") {
		t.Fatalf("ingest that lost its port: err %v, want the exit reported", err)
	}
}

// The kernel hands a closed listener's port out again; FreeAddr must not,
// or two services of one stack bind the same port and one exits.
func TestFreeAddrNeverHandsOutAPortTwice(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 3000; i++ {
		addr, err := FreeAddr()
		if err != nil {
			t.Fatal(err)
		}
		if seen[addr] {
			t.Fatalf("call %d handed out %s again", i+1, addr)
		}
		seen[addr] = true
	}
}
