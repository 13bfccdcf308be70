package cli

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/services/medic/internal/stack"
)

// syncBuffer is an io.Writer the test reads while up writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// `medic up --with-simulator` as a user runs it: it prints the front door,
// the simulator's telemetry reaches ClickHouse through it, telemetry a
// user posts to the printed OTLP endpoint does too, a crashed service is
// restarted, and Ctrl-C stops everything cleanly.
func TestUpRunsMedicForYourSystem(t *testing.T) {
	if testing.Short() || os.Getenv("MEDIC_INTEGRATION") == "" {
		t.Skip("runs every service as a process; set MEDIC_INTEGRATION=1 (make test does)")
	}
	st := storetest.New(t) // a fresh database, migrated, dropped at the end
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	args := []string{"--bin-dir", binaries(t), "--work-dir", t.TempDir(), "--clickhouse-addr", storetest.Addr(),
		"--clickhouse-database", st.Database(), "--otlp-grpc-addr=", "--otlp-http-addr=", "--ingest-addr=", "--with-simulator"}
	go func() { done <- up(ctx, args, &out) }()

	waitFor(t, &out, "Medic is up", 2*time.Minute, done)
	text := out.String()
	for _, want := range []string{"OTLP/gRPC", "OTLP/HTTP", "/v1/alerts/alertmanager", "/v1/alerts/grafana", "/v1/changes", "KAFKA_BROKERS", "/v1/faults", "medic rca --rca-url http://"} {
		if !strings.Contains(text, want) {
			t.Errorf("the banner does not mention %s:\n%s", want, text)
		}
	}
	httpEndpoint := regexp.MustCompile(`OTLP/HTTP  (http://\S+)`).FindStringSubmatch(text)
	if httpEndpoint == nil {
		t.Fatalf("no OTLP/HTTP endpoint in:\n%s", text)
	}

	// A user's own service posts a gauge, as the Collector's otlphttp
	// exporter does with JSON encoding.
	body := fmt.Sprintf(`{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"my-service"}}]},
"scopeMetrics":[{"metrics":[{"name":"queue.depth","gauge":{"dataPoints":[{"asDouble":42,"timeUnixNano":"%d"}]}}]}]}]}`, time.Now().UnixNano())
	resp, err := http.Post(httpEndpoint[1]+"/v1/metrics", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /v1/metrics: %s", resp.Status)
	}
	pollRows(t, st.Conn(), "the user's gauge in ClickHouse", `SELECT count() FROM metrics WHERE service = 'my-service' AND name = 'queue.depth' AND value = 42`)
	pollRows(t, st.Conn(), "the simulator's telemetry in ClickHouse, through the front door",
		`SELECT count() FROM metrics WHERE service = 'model-server' AND name = 'predictions_rate' AND model = 'fraud'`)

	// A crash is repaired by the supervisor.
	pid := startedPid(t, text, "detector")
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, &out, "restarted detector", time.Minute, done)
	// Repaired means serving again. It also keeps Ctrl-C from reaching
	// the new process before it handles signals: one run's did, and the
	// detector died of the SIGTERM instead of draining.
	readyz := startedURL(t, text, "detector") + "/readyz"
	servicetest.PollFor(t, "the restarted detector ready at "+readyz, time.Minute, func() bool { return answersOK(readyz) })

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("medic up stopped with %v\n%s", err, out.String())
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("medic up did not stop within 2 minutes of Ctrl-C\n%s", out.String())
	}
	if !strings.Contains(out.String(), "medic: stopped") {
		t.Errorf("no clean stop reported:\n%s", out.String())
	}
}

// waitFor polls out until it holds want, failing early if up returned.
func waitFor(t *testing.T, out *syncBuffer, want string, timeout time.Duration, done chan error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(out.String(), want) {
		select {
		case err := <-done:
			t.Fatalf("medic up returned %v before printing %q:\n%s", err, want, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q within %s:\n%s", want, timeout, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startedPid reads a process's pid from the stack's "started NAME pid N" line.
func startedPid(t *testing.T, text, name string) int {
	t.Helper()
	m := regexp.MustCompile(`started ` + name + `\s+pid (\d+)`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no pid of %s in:\n%s", name, text)
	}
	pid, _ := strconv.Atoi(m[1])
	return pid
}

// startedURL is the HTTP address of name from the "started" line of
// up's output; a restart keeps it.
func startedURL(t *testing.T, text, name string) string {
	t.Helper()
	m := regexp.MustCompile(`started ` + name + `\s+pid \d+\s+(http://\S+)`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no address of %s in:\n%s", name, text)
	}
	return m[1]
}

// answersOK reports whether a GET of url answers 200.
func answersOK(url string) bool {
	resp, err := http.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// pollRows waits until query counts at least one row.
func pollRows(t *testing.T, conn driver.Conn, what, query string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var n uint64
		err := conn.QueryRow(context.Background(), query).Scan(&n)
		if err == nil && n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: none within a minute (last error %v)", what, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// binaries returns MEDIC_BIN_DIR (set by `make test`), or builds the
// programs into a temporary directory.
func binaries(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("MEDIC_BIN_DIR"); dir != "" {
		return dir
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..", "..", "..")
	dir := t.TempDir()
	for _, name := range append([]string{"simulator"}, stack.Services...) {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), ".")
		cmd.Dir = filepath.Join(root, "services", name)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", name, err, out)
		}
	}
	return dir
}
