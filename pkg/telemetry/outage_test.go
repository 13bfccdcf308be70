package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/pkg/telemetry"
)

// lockedBuffer is a stdout that several goroutines write to.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// others are the JSON records written so far but those with the given message.
func (l *lockedBuffer) others(t *testing.T, body string) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, raw := range bytes.Split(l.b.Bytes(), []byte("\n")) {
		if len(raw) == 0 {
			continue
		}
		var line map[string]any
		if err := json.Unmarshal(raw, &line); err != nil {
			t.Fatalf("stdout line %q: %v", raw, err)
		}
		if line["msg"] != body {
			out = append(out, line)
		}
	}
	return out
}

func spillFiles(t *testing.T, dir string) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*", "*.gob"))
	if err != nil {
		t.Fatal(err)
	}
	return len(files)
}

// A ClickHouse outage under a steady log load: the export's problems go
// to stdout only, a few times rather than thousands of times a second;
// the records past the memory bound wait on disk; all of them land once
// ClickHouse is back (issue #6, defect 4).
func TestClickHouseOutageNeitherStormsNorLosesLogs(t *testing.T) {
	proxy := storetest.NewProxy(t, storetest.Addr())
	proxy.On()
	var out lockedBuffer
	tel := telemetry.New("outage-svc", slog.LevelInfo, &out)
	s := storetest.NewVia(t, proxy.Addr(), tel.Logger())
	spill := t.TempDir()
	tel.ExportWith(s, telemetry.ExportOptions{SpillDir: spill, MaxBuffered: 500})
	defer func() { _ = tel.Shutdown(context.Background()) }()

	proxy.Off()
	outageStart := time.Now()
	deadline := time.Now().Add(10 * time.Second)
	for s.Ready() == nil {
		if time.Now().After(deadline) {
			t.Fatal("store still ready with ClickHouse unreachable")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A steady load of n records over about 3 s of outage.
	const n, perTick = 10000, 35
	const body = "outage record"
	tick := time.NewTicker(10 * time.Millisecond)
	for i := 0; i < n; {
		<-tick.C
		for j := 0; j < perTick && i < n; j, i = j+1, i+1 {
			tel.Logger().Info(body, "seq", i)
		}
	}
	tick.Stop()
	if files := spillFiles(t, spill); files == 0 {
		t.Errorf("%d records held during the outage with a bound of 500 in memory, but no spill file", n)
	}
	outage := time.Since(outageStart)
	proxy.On()

	ctx := context.Background()
	deadline = time.Now().Add(30 * time.Second)
	var got uint64
	for {
		err := s.Conn().QueryRow(ctx, "SELECT uniq(arrayElement(attr_values, indexOf(attr_keys, 'seq'))) FROM medic_logs WHERE body = ?", body).Scan(&got)
		if err == nil && got == n {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("%d of %d records written during the outage reached ClickHouse (last error %v)", got, n, err)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}

	deadline = time.Now().Add(10 * time.Second)
	for spillFiles(t, spill) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d spill files left after the outage", spillFiles(t, spill))
		}
		time.Sleep(20 * time.Millisecond)
	}

	var total, other uint64
	if err := s.Conn().QueryRow(ctx, "SELECT count(), countIf(body != ?) FROM medic_logs", body).Scan(&total, &other); err != nil {
		t.Fatal(err)
	}
	if other != 0 {
		t.Errorf("%d rows of the export's own problems landed in the logs table", other)
	}
	if total != n {
		t.Logf("%d rows for %d records: a retried insert that the server had committed was written twice", total, n)
	}
	var warnings int
	for _, line := range out.others(t, body) {
		if line["level"] == "WARN" || line["level"] == "ERROR" {
			warnings++
		}
		if line["component"] == "telemetry-export" {
			t.Logf("stdout: %v", line)
		}
	}
	if limit := 2 * (1 + int(outage/(10*time.Second))); warnings > limit {
		t.Fatalf("%d export warnings on stdout during a %s outage, want at most %d", warnings, outage.Round(time.Millisecond), limit)
	}
}
