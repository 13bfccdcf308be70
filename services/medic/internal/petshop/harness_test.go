package petshop

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/store"
	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/services/medic/internal/stack"
)

// parallel runs job(0) to job(n-1), at most limit at a time, and returns
// the first error.
func parallel(limit, n int, job func(i int) error) error {
	sem := make(chan struct{}, limit)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = job(i)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// report prints the accuracy table and fails below the floors.
// waitForPoints polls ClickHouse until the metrics table holds want
// points, each counted once.
func waitForPoints(t *testing.T, st *store.Store, want int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var got uint64
		err := st.Conn().QueryRow(context.Background(),
			"SELECT count() FROM (SELECT event_id, point_index FROM metrics GROUP BY event_id, point_index)").Scan(&got)
		if err == nil && int(got) >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: ClickHouse holds %d of %d points (%v)", timeout, got, want, err)
		}
		<-time.After(200 * time.Millisecond)
	}
}

// integration skips the test unless end-to-end tests were asked for.
func integration(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end benchmark; drop -short to run it")
	}
	if os.Getenv("MEDIC_INTEGRATION") != "1" {
		t.Skip("the PetShop benchmark runs the ingest, archiver and rca processes against ClickHouse: " +
			"set MEDIC_INTEGRATION=1 and CLICKHOUSE_ADDR (make test does)")
	}
}

// services are the processes the benchmark needs.
var services = []string{"archiver", "ingest", "rca"}

// startStack starts the archiver, the ingest service and the rca service
// (with the static call graph) on st's database.
func startStack(t *testing.T, st *store.Store, graph string) *stack.Stack {
	t.Helper()
	work := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := stack.Start(ctx, stack.Config{BinDir: binaries(t), WorkDir: work, ClickHouseAddr: storetest.Addr(),
		Database: st.Database(), NoSimulator: true, Only: services,
		// The normal data spans about 49 hours.
		ProcessEnv: map[string][]string{"rca": {"RCA_CALL_GRAPH=" + graph, "RCA_MAX_ANALYSIS_WINDOW=72h"}}})
	if err != nil {
		t.Log(stack.LogTails(work, 20))
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("stack stop: %v", err)
		}
		if t.Failed() {
			t.Log(stack.LogTails(work, 20))
		}
	})
	return s
}

// binaries is MEDIC_BIN_DIR (set by `make test`), or the services built
// into the test's temporary directory.
func binaries(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("MEDIC_BIN_DIR"); dir != "" {
		return dir
	}
	dir := t.TempDir()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..", "..", "..")
	for _, name := range services {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), ".")
		cmd.Dir = filepath.Join(root, "services", name)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", name, err, out)
		}
	}
	return dir
}
