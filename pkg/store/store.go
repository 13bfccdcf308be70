// Package store is Medic's ClickHouse access: a connection that retries
// until the server answers, ordered migrations recorded in
// schema_migrations, and writers that insert rows in batches.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/medic-sre/medic/pkg/retry"
)

// ErrNotReady means ClickHouse has not been reached and migrated yet.
var ErrNotReady = errors.New("clickhouse not ready")

// Config says where ClickHouse is. Only the native protocol is used: it is
// the one that works on every server version Medic supports.
type Config struct {
	Addr     string
	Database string
	User     string
	Password string
}

var dbName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Validate checks the settings before anything dials.
func (c Config) Validate() error {
	if c.Addr == "" {
		return errors.New("clickhouse address is empty (set CLICKHOUSE_ADDR or --clickhouse-addr)")
	}
	if !dbName.MatchString(c.Database) {
		return fmt.Errorf("clickhouse database %q is not a plain identifier", c.Database)
	}
	return nil
}

// Store is a ClickHouse connection shared by one service.
type Store struct {
	cfg   Config
	conn  driver.Conn
	log   *slog.Logger
	ready atomic.Bool
	// metrics count rows written, spilled and lost (see SetMetrics).
	metrics *Metrics

	pingMu  sync.Mutex
	pingAt  time.Time
	pingErr error

	// exportMu guards failing: the batch writers whose last flush failed,
	// with its error. A store whose writers cannot write is not ready.
	exportMu sync.Mutex
	failing  map[*BatchWriter]error
}

// Open prepares a connection without dialing; Setup brings it up.
func Open(cfg Config, log *slog.Logger) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	conn, err := clickhouse.Open(options(cfg, cfg.Database))
	if err != nil {
		return nil, fmt.Errorf("clickhouse %s: %w", cfg.Addr, err)
	}
	return &Store{cfg: cfg, conn: conn, log: log, metrics: NewMetrics(nil)}, nil
}

// MaxOpenConns is how many connections a Store opens at most. A query that
// finds them all busy waits for one only as long as the dial timeout, so a
// reader that runs many queries at once bounds them itself (see the rca's
// query.Reader).
const MaxOpenConns = 8

func options(cfg Config, database string) *clickhouse.Options {
	user := cfg.User
	if user == "" {
		user = "default"
	}
	return &clickhouse.Options{
		Addr:            []string{cfg.Addr},
		Auth:            clickhouse.Auth{Database: database, Username: user, Password: cfg.Password},
		DialTimeout:     3 * time.Second,
		ReadTimeout:     60 * time.Second,
		MaxOpenConns:    MaxOpenConns,
		MaxIdleConns:    4,
		ConnMaxLifetime: 30 * time.Minute,
		Compression:     &clickhouse.Compression{Method: clickhouse.CompressionLZ4},
	}
}

// Setup creates the database and applies migrations, retrying with backoff
// until ClickHouse answers or ctx ends. The store is ready once it returns.
func (s *Store) Setup(ctx context.Context) error {
	_, err := retry.Do(ctx, retry.SetupPolicy, func(int) error {
		err := s.setupOnce(ctx)
		if errors.Is(err, ErrMigrationChanged) {
			return retry.Permanent(err) // no retry can fix it; stop with the reason
		}
		return err
	}, func(err error, wait time.Duration) {
		s.log.Warn("clickhouse not reachable yet; retrying", "addr", s.cfg.Addr, "err", err, "retry_in", wait.String())
	})
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("clickhouse %s: %w; check CLICKHOUSE_ADDR", s.cfg.Addr, err)
		}
		return err
	}
	s.ready.Store(true)
	s.log.Info("clickhouse ready", "addr", s.cfg.Addr, "database", s.cfg.Database)
	return nil
}

func (s *Store) setupOnce(ctx context.Context) error {
	admin, err := clickhouse.Open(options(s.cfg, "default"))
	if err != nil {
		return err
	}
	// The admin connection only ran DDL that has either succeeded or
	// returned its error, so a failed close loses nothing.
	defer func() { _ = admin.Close() }()
	if err := admin.Ping(ctx); err != nil {
		return err
	}
	if err := admin.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+s.cfg.Database); err != nil {
		return fmt.Errorf("create database %s: %w", s.cfg.Database, err)
	}
	return Migrate(ctx, s.conn, s.log)
}

// Ready reports nil when the store is set up, the server answers and no
// batch writer is failing to write (they retry with backoff, so a writer
// stays failing for up to BatchOptions.RetryMax after the server is back).
// Pings are cached for a second so that probes do not load the server.
func (s *Store) Ready() error {
	if err := s.reachable(); err != nil {
		return err
	}
	s.exportMu.Lock()
	defer s.exportMu.Unlock()
	for w, err := range s.failing {
		return fmt.Errorf("%w: writing %s: %w", ErrNotReady, w.table, err)
	}
	return nil
}

// exportFailed records that w could not write (err), or, with a nil err,
// that it wrote again.
func (s *Store) exportFailed(w *BatchWriter, err error) {
	s.exportMu.Lock()
	defer s.exportMu.Unlock()
	if err == nil {
		delete(s.failing, w)
		return
	}
	if s.failing == nil {
		s.failing = make(map[*BatchWriter]error)
	}
	s.failing[w] = err
}

// reachable is Ready without the writers' state: whether an insert can be
// tried at all.
func (s *Store) reachable() error {
	if !s.ready.Load() {
		return ErrNotReady
	}
	s.pingMu.Lock()
	defer s.pingMu.Unlock()
	if time.Since(s.pingAt) > time.Second {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		s.pingErr = s.conn.Ping(ctx)
		cancel()
		s.pingAt = time.Now()
	}
	if s.pingErr != nil {
		return fmt.Errorf("%w: %w", ErrNotReady, s.pingErr)
	}
	return nil
}

// WaitReady blocks until Setup has succeeded, or ctx ends.
func (s *Store) WaitReady(ctx context.Context) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for !s.ready.Load() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// Conn is the underlying driver connection, for queries.
func (s *Store) Conn() driver.Conn { return s.conn }

// Database is the database this store works in.
func (s *Store) Database() string { return s.cfg.Database }

// Insert writes rows in one batch. Columns are always named: old servers
// reject a batch insert without them.
func (s *Store) Insert(ctx context.Context, table string, columns []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	batch, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+table+" ("+strings.Join(columns, ", ")+")")
	if err != nil {
		return fmt.Errorf("insert into %s: %w", table, err)
	}
	defer func() { _ = batch.Abort() }()
	for _, row := range rows {
		if err := batch.Append(row...); err != nil {
			return fmt.Errorf("insert into %s: %w", table, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert into %s: %w", table, err)
	}
	s.metrics.rowsWritten.WithLabelValues(table).Add(float64(len(rows)))
	return nil
}

// Close closes the connection.
func (s *Store) Close() error { return s.conn.Close() }
