// Package storetest gives integration tests a real ClickHouse database of
// their own. There is no fake: when no server answers, the test fails and
// says how to start one.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/store"
)

// Addr is the ClickHouse native address tests use: CLICKHOUSE_ADDR, or the
// private instance that scripts/clickhouse.sh starts.
func Addr() string {
	if a := os.Getenv("CLICKHOUSE_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:19000"
}

// Config returns settings for a fresh, uniquely named database.
func Config() store.Config {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return store.Config{Addr: Addr(), Database: "medic_test_" + hex.EncodeToString(b)}
}

// New opens a migrated store on a fresh database that is dropped when the
// test ends.
func New(t testing.TB) *store.Store {
	t.Helper()
	return NewVia(t, Addr(), slog.New(slog.DiscardHandler))
}

// NewVia is New through another address (a Proxy's), with a logger of the
// caller's. The database is dropped over a direct connection, so the proxy
// may be off when the test ends.
func NewVia(t testing.TB, addr string, log *slog.Logger) *store.Store {
	t.Helper()
	cfg := Config()
	cfg.Addr = addr
	s, err := store.Open(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	// Creating a database and migrating it took past 20 s once, with a
	// dozen stacks querying the one server in a full `make test`.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Setup(ctx); err != nil {
		t.Fatalf("ClickHouse is required at %s and did not answer: %v\n"+
			"Start one with `scripts/clickhouse.sh start` (or run `make test`), or set CLICKHOUSE_ADDR.", cfg.Addr, err)
	}
	if addr == Addr() {
		t.Cleanup(func() { Drop(t, s) })
		return s
	}
	t.Cleanup(func() {
		_ = s.Close()
		direct, err := store.Open(store.Config{Addr: Addr(), Database: cfg.Database}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Logf("drop %s: %v", cfg.Database, err)
			return
		}
		Drop(t, direct)
	})
	return s
}

// Drop removes a test database.
func Drop(t testing.TB, s *store.Store) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Conn().Exec(ctx, "DROP DATABASE IF EXISTS "+s.Database()); err != nil {
		t.Logf("drop %s: %v", s.Database(), err)
	}
	_ = s.Close()
}
