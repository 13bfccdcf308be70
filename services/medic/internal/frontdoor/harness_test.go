package frontdoor

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/store"
	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/services/medic/internal/stack"
	"github.com/nats-io/nats.go/jetstream"
)

// services are the processes a front-door test needs: the door itself,
// and the archiver that writes what it publishes to ClickHouse.
var services = []string{"archiver", "ingest"}

// built are the programs binaries builds: the services, and the rca and
// the simulator for the log-only failure's test.
var built = append(slices.Clone(services), "rca", "simulator")

// door is a stack of the archiver and the ingest service on a fresh
// ClickHouse database, with a direct connection to that database and a
// JetStream client logged in as the CLI user.
type door struct {
	stack *stack.Stack
	store *store.Store
	js    jetstream.JetStream
}

// integration skips the test unless end-to-end tests were asked for.
func integration(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end tests of the front door; drop -short to run them")
	}
	if os.Getenv("MEDIC_INTEGRATION") != "1" {
		t.Skip("end-to-end tests of the front door run the ingest and archiver processes against ClickHouse: " +
			"set MEDIC_INTEGRATION=1 and CLICKHOUSE_ADDR (make test does)")
	}
}

// startDoor starts the archiver and the ingest service, the latter with
// ingestEnv added, and stops them when the test ends; on failure the tail
// of their logs is printed.
func startDoor(t *testing.T, ingestEnv ...string) *door {
	t.Helper()
	d := &door{store: storetest.New(t)}
	work := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := stack.Start(ctx, stack.Config{BinDir: binaries(t), WorkDir: work, ClickHouseAddr: storetest.Addr(),
		Database: d.store.Database(), NoSimulator: true, Only: services,
		ProcessEnv: map[string][]string{"ingest": ingestEnv}, Progress: stack.LogTo(t)})
	if err != nil {
		t.Log(stack.LogTails(work, 40))
		t.Fatal(err)
	}
	d.stack = st
	nc, err := st.ConnectNATS()
	if err != nil {
		_ = st.Stop()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		nc.Close()
		if err := st.Stop(); err != nil {
			t.Errorf("stack stop: %v", err)
		}
		if t.Failed() {
			t.Log(stack.LogTails(work, 40))
		}
	})
	if d.js, err = jetstream.New(nc); err != nil {
		t.Fatal(err)
	}
	return d
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// binaries returns MEDIC_BIN_DIR (set by `make test`), or builds the two
// services once into a directory that outlives every test (a restart
// runs the binary again), removed by TestMain.
func binaries(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("MEDIC_BIN_DIR"); dir != "" {
		return dir
	}
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "medic-frontdoor-bin-"); buildErr != nil {
			return
		}
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..", "..", "..")
		for _, name := range built {
			cmd := exec.Command("go", "build", "-o", filepath.Join(buildDir, name), ".")
			cmd.Dir = filepath.Join(root, "services", name)
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("build %s: %w\n%s", name, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// eventually calls check until it reports nothing missing (""), and fails
// the test with its last report when timeout passes first.
func eventually(t *testing.T, timeout time.Duration, check func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		missing := check()
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", timeout, missing)
		}
		<-time.After(200 * time.Millisecond)
	}
}

// busEvents reads every event stream holds on subject through a throwaway
// consumer, oldest first.
func (d *door) busEvents(t *testing.T, stream, subject string) []events.Item[events.Data] {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := d.js.Stream(ctx, stream)
	if err != nil {
		t.Fatalf("stream %s: %v", stream, err)
	}
	c, err := s.CreateConsumer(ctx, jetstream.ConsumerConfig{FilterSubject: subject, DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy: jetstream.AckNonePolicy, InactiveThreshold: time.Minute})
	if err != nil {
		t.Fatalf("consumer on %s %s: %v", stream, subject, err)
	}
	defer func() { _ = s.DeleteConsumer(context.Background(), c.CachedInfo().Name) }()
	var out []events.Item[events.Data]
	for pending := int(c.CachedInfo().NumPending); len(out) < pending; {
		batch, err := c.Fetch(min(pending-len(out), 500), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatalf("fetch %s %s: %v", stream, subject, err)
		}
		n := len(out)
		for m := range batch.Messages() {
			ev, err := events.Parse(m.Data())
			if err != nil {
				t.Fatalf("bad event on %s: %v", m.Subject(), err)
			}
			out = append(out, ev)
		}
		if err := batch.Error(); err != nil || len(out) == n {
			t.Fatalf("fetch %s %s: got %d of %d messages (%v)", stream, subject, len(out), pending, err)
		}
	}
	return out
}

// telemetry reads the telemetry events of one type.
func (d *door) telemetry(t *testing.T, eventType string) []events.Item[events.Data] {
	t.Helper()
	return d.busEvents(t, bus.StreamTelemetry, events.Subject(eventType))
}
