package store_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/store"
	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/prometheus/client_golang/prometheus"
)

// recorder keeps the records logged to it.
type recorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recorder) WithGroup(string) slog.Handler            { return r }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, rec.Clone())
	return nil
}

// at returns the records of at least the level, with their attributes.
func (r *recorder) at(level slog.Level) []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]any
	for _, rec := range r.records {
		if rec.Level < level {
			continue
		}
		m := map[string]any{"msg": rec.Message, "level": rec.Level.String()}
		rec.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.Any(); return true })
		out = append(out, m)
	}
	return out
}

func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// withMetrics gives s metrics on a registry of their own, for counter.
func withMetrics(s *store.Store) prometheus.Gatherer {
	reg := prometheus.NewRegistry()
	s.SetMetrics(store.NewMetrics(reg))
	return reg
}

func counter(t *testing.T, g prometheus.Gatherer, name, table string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "table" && l.GetValue() == table {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func spillFiles(t *testing.T, dir string) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*", "*.gob"))
	if err != nil {
		t.Fatal(err)
	}
	return len(files)
}

var logColumns = []string{"time", "time_unix_nano", "service", "severity", "body", "trace_id", "span_id", "model", "model_version", "attr_keys", "attr_values"}

func logRow(body string, i int) []any {
	now := time.Now()
	return []any{now, now.UnixNano(), "svc", "INFO", body, "", "", "", "", []string{"seq"}, []string{fmt.Sprint(i)}}
}

// While ClickHouse is down a writer keeps at most MaxBuffered rows in
// memory and the rest on disk, retries with backoff rather than at every
// full batch, says so once per WarnEvery, and makes the store not ready.
// Once ClickHouse is back every row lands once, oldest files first.
func TestBatchWriterOutageSpillsBacksOffAndReplays(t *testing.T) {
	proxy := storetest.NewProxy(t, storetest.Addr())
	proxy.On()
	var rec recorder
	s := storetest.NewVia(t, proxy.Addr(), slog.New(slog.DiscardHandler))
	reg := withMetrics(s)
	spill := t.TempDir()
	const maxBuffered, warnEvery, retryMax = 100, 300 * time.Millisecond, 100 * time.Millisecond
	w := s.NewBatchWriter("logs", logColumns, store.BatchOptions{MaxRows: 50, MaxDelay: 20 * time.Millisecond,
		MaxBuffered: maxBuffered, SpillDir: spill, RetryBase: 10 * time.Millisecond, RetryMax: retryMax,
		WarnEvery: warnEvery, Log: slog.New(&rec)})
	defer func() { _ = w.Close(context.Background()) }()
	spilled0, replayed0 := counter(t, reg, "medic_store_rows_spilled_total", "logs"), counter(t, reg, "medic_store_rows_replayed_total", "logs")

	proxy.Off()
	began := time.Now()
	poll(t, "the store not ready", func() bool { return s.Ready() != nil })
	const n, body = 3000, "outage row"
	for i := range n {
		w.Add(logRow(body, i)...)
		if st := w.Stats(); st.Memory > maxBuffered {
			t.Fatalf("after %d rows: %d in memory, bound %d", i+1, st.Memory, maxBuffered)
		}
	}
	poll(t, "a second warning", func() bool { return len(rec.at(slog.LevelWarn)) >= 2 })
	if st := w.Stats(); st.Spilled+st.Memory != n || st.SpillFiles == 0 || spillFiles(t, spill) != st.SpillFiles {
		t.Fatalf("stats %+v, %d files on disk, want all %d rows held, spilled in files", st, spillFiles(t, spill), n)
	}
	proxy.On()
	poll(t, "every row in ClickHouse", func() bool {
		return count(t, s, "SELECT uniq(attr_values[1]) FROM logs WHERE body = '"+body+"'") == n
	})
	outage := time.Since(began) // as the writer saw it: until its rows landed
	poll(t, "the store ready again", func() bool { return s.Ready() == nil })
	poll(t, "the spill directory empty", func() bool { return spillFiles(t, spill) == 0 && w.Pending() == 0 })
	if got := count(t, s, "SELECT count() FROM logs"); got != n {
		t.Errorf("%d rows in ClickHouse for %d added", got, n)
	}
	if d := counter(t, reg, "medic_store_rows_replayed_total", "logs") - replayed0; d == 0 || d != counter(t, reg, "medic_store_rows_spilled_total", "logs")-spilled0 {
		t.Errorf("replayed %v rows, spilled %v", d, counter(t, reg, "medic_store_rows_spilled_total", "logs")-spilled0)
	}

	warnings := rec.at(slog.LevelWarn)
	failed := 0
	for _, wn := range warnings {
		failed += int(wn["failed_flushes"].(int64))
	}
	if limit := 1 + int(outage/warnEvery); len(warnings) > limit {
		t.Errorf("%d warnings in %s, want at most %d (one per %s)", len(warnings), outage, limit, warnEvery)
	}
	// With a 100 ms cap on the backoff, a 60-row batch becoming full
	// every few rows must not bring attempts forward.
	if limit := 10 + int(outage/retryMax); failed > limit {
		t.Errorf("%d failed flushes in %s, want at most %d with backoff", failed, outage, limit)
	}
	t.Logf("outage %s: %d failed flushes, %d warnings: %v", outage.Round(time.Millisecond), failed, len(warnings), warnings)
	var recovered bool
	for _, r := range rec.at(slog.LevelInfo) {
		recovered = recovered || strings.Contains(r["msg"].(string), "recovered")
	}
	if !recovered {
		t.Error("no word of the recovery")
	}
}

// Past the spill bound too, the oldest rows are dropped, counted, and
// reported at error level.
func TestBatchWriterDropsOldestPastTheSpillBound(t *testing.T) {
	proxy := storetest.NewProxy(t, storetest.Addr())
	proxy.On()
	var rec recorder
	s := storetest.NewVia(t, proxy.Addr(), slog.New(slog.DiscardHandler))
	reg := withMetrics(s)
	w := s.NewBatchWriter("logs", logColumns, store.BatchOptions{MaxRows: 50, MaxDelay: 20 * time.Millisecond,
		MaxBuffered: 100, SpillDir: t.TempDir(), MaxSpillBytes: 8 << 10, RetryBase: 10 * time.Millisecond,
		RetryMax: 50 * time.Millisecond, WarnEvery: time.Hour, Log: slog.New(&rec)})
	defer func() { _ = w.Close(context.Background()) }()
	dropped0 := counter(t, reg, "medic_store_rows_dropped_total", "logs")

	proxy.Off()
	poll(t, "the store not ready", func() bool { return s.Ready() != nil })
	const n = 2000
	for i := range n {
		w.Add(logRow("dropped row", i)...)
	}
	st := w.Stats()
	dropped := counter(t, reg, "medic_store_rows_dropped_total", "logs") - dropped0
	if dropped == 0 || int(dropped)+st.Memory+st.Spilled != n {
		t.Fatalf("dropped %v, held %+v, of %d rows", dropped, st, n)
	}
	poll(t, "an error naming the dropped rows", func() bool {
		for _, r := range rec.at(slog.LevelError) {
			if r["dropped_rows"] != nil {
				return true
			}
		}
		return false
	})
	proxy.On()
	poll(t, "the rows held written", func() bool { return w.Pending() == 0 })
	// The newest rows are the ones kept.
	if got := count(t, s, "SELECT count() FROM logs WHERE attr_values[1] = '1999'"); got != 1 {
		t.Fatalf("newest row written %d times", got)
	}
}

// A writer closed while ClickHouse is down keeps every row on disk; the
// shutdown lost nothing, so Close reports no error.
func TestBatchWriterClosedDuringOutageSpillsEverything(t *testing.T) {
	proxy := storetest.NewProxy(t, storetest.Addr())
	proxy.On()
	s := storetest.NewVia(t, proxy.Addr(), slog.New(slog.DiscardHandler))
	spill := t.TempDir()
	w := s.NewBatchWriter("logs", logColumns, store.BatchOptions{MaxRows: 50, MaxDelay: 20 * time.Millisecond,
		MaxBuffered: 100, SpillDir: spill, RetryBase: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond,
		Log: slog.New(slog.DiscardHandler)})
	proxy.Off()
	for i := range 300 {
		w.Add(logRow("closed in an outage", i)...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.Close(ctx); err != nil {
		t.Fatalf("close with every row spilled: %v", err)
	}
	if n := spillFiles(t, spill); n == 0 {
		t.Fatal("no spill file holds the rows")
	}
	// The next writer of the table (a restarted service) adopts them.
	proxy.On()
	next := s.NewBatchWriter("logs", logColumns, store.BatchOptions{MaxRows: 50, MaxDelay: 20 * time.Millisecond,
		SpillDir: spill, Log: slog.New(slog.DiscardHandler)})
	defer func() { _ = next.Close(context.Background()) }()
	poll(t, "the rows of the stopped writer in ClickHouse", func() bool {
		return count(t, s, "SELECT uniq(attr_values[1]) FROM logs WHERE body = 'closed in an outage'") == 300
	})
	poll(t, "the adopted files removed", func() bool { return spillFiles(t, spill) == 0 })
}
