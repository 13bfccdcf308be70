package store_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/store"
	"github.com/medic-sre/medic/pkg/storetest"
)

func count(t *testing.T, s *store.Store, query string) uint64 {
	t.Helper()
	var n uint64
	if err := s.Conn().QueryRow(context.Background(), query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestMigrationsApplyOnceAndAreIdempotent(t *testing.T) {
	s := storetest.New(t)
	ms, err := store.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) < 5 {
		t.Fatalf("only %d migrations", len(ms))
	}
	// A second service migrating the same database changes nothing.
	if err := store.Migrate(context.Background(), s.Conn(), slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	if got := count(t, s, "SELECT count() FROM schema_migrations FINAL"); got != uint64(len(ms)) {
		t.Fatalf("recorded %d versions, want %d", got, len(ms))
	}
	for _, table := range []string{"events", "metrics", "logs", "spans", "incidents", "log_templates"} {
		if got := count(t, s, "SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = '"+table+"'"); got != 1 {
			t.Fatalf("table %s missing", table)
		}
	}
}

func TestBatchWriterFlushesBySizeAndByTime(t *testing.T) {
	s := storetest.New(t)
	cols := []string{"time", "time_unix_nano", "service", "severity", "body", "trace_id", "span_id", "model", "model_version", "attr_keys", "attr_values"}
	row := func(body string) []any {
		now := time.Now()
		return []any{now, now.UnixNano(), "svc", "INFO", body, "", "", "", "", []string{"k"}, []string{"v"}}
	}
	tests := []struct {
		name    string
		opts    store.BatchOptions
		rows    int
		service string
	}{
		{name: "by size", opts: store.BatchOptions{MaxRows: 10, MaxDelay: time.Hour}, rows: 10},
		{name: "by time", opts: store.BatchOptions{MaxRows: 1000, MaxDelay: 50 * time.Millisecond}, rows: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := s.NewBatchWriter("logs", cols, tc.opts)
			defer func() { _ = w.Close(context.Background()) }()
			for range tc.rows {
				w.Add(row(tc.name)...)
			}
			deadline := time.Now().Add(10 * time.Second)
			for count(t, s, "SELECT count() FROM logs WHERE body = '"+tc.name+"'") != uint64(tc.rows) {
				if time.Now().After(deadline) {
					t.Fatalf("rows not flushed; pending %d", w.Pending())
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  store.Config
		ok   bool
	}{
		{name: "ok", cfg: store.Config{Addr: "h:9000", Database: "medic"}, ok: true},
		{name: "no addr", cfg: store.Config{Database: "medic"}},
		{name: "injection", cfg: store.Config{Addr: "h:9000", Database: "medic; DROP"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v", err)
			}
		})
	}
}

func TestEditedMigrationIsRefused(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	if err := s.Conn().Exec(ctx, "ALTER TABLE schema_migrations DELETE WHERE version = 1"); err != nil {
		t.Fatal(err)
	}
	batch, err := s.Conn().PrepareBatch(ctx, "INSERT INTO schema_migrations (version, name, checksum, applied_at)")
	if err != nil {
		t.Fatal(err)
	}
	if err := batch.Append(uint32(1), "events", "not-the-file", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := batch.Send(); err != nil {
		t.Fatal(err)
	}
	// ALTER ... DELETE runs in the background; wait until only the forged record is left.
	deadline := time.Now().Add(10 * time.Second)
	for count(t, s, "SELECT count() FROM schema_migrations WHERE version = 1") != 1 {
		if time.Now().After(deadline) {
			t.Fatal("old migration record not deleted")
		}
		time.Sleep(20 * time.Millisecond)
	}
	err = store.Migrate(ctx, s.Conn(), slog.New(slog.DiscardHandler))
	if !errors.Is(err, store.ErrMigrationChanged) {
		t.Fatalf("Migrate = %v, want ErrMigrationChanged", err)
	}
	t.Log(err)
	// A service starting on this database stops at once with the reason,
	// rather than retrying as if ClickHouse were down.
	again, err := store.Open(store.Config{Addr: storetest.Addr(), Database: s.Database()}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := again.Setup(sctx); !errors.Is(err, store.ErrMigrationChanged) || sctx.Err() != nil {
		t.Fatalf("Setup = %v, want ErrMigrationChanged before the deadline", err)
	}
}

// A migration that added columns but was never recorded (its migrator
// stopped, or another service ran it at the same moment) runs again without
// failing on the columns it finds.
func TestUnrecordedAddColumnMigrationRunsAgain(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	const version = 6 // 0006 adds columns to incidents
	if err := s.Conn().Exec(ctx, "ALTER TABLE schema_migrations DELETE WHERE version = 6"); err != nil {
		t.Fatal(err)
	}
	// ALTER ... DELETE runs in the background; wait until the record is gone.
	deadline := time.Now().Add(10 * time.Second)
	for count(t, s, "SELECT count() FROM schema_migrations WHERE version = 6") != 0 {
		if time.Now().After(deadline) {
			t.Fatal("migration record not deleted")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := store.Migrate(ctx, s.Conn(), slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("Migrate = %v, want the existing columns taken as added", err)
	}
	if n := count(t, s, "SELECT count() FROM schema_migrations WHERE version = 6"); n != 1 {
		t.Fatalf("%d records of migration %d, want 1", n, version)
	}
}
