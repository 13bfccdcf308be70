package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/medic-sre/medic/schemas"
)

// ErrMigrationChanged means an applied migration's file no longer matches
// the checksum recorded when it ran.
var ErrMigrationChanged = errors.New("migration changed")

// Migration is one ordered DDL file from schemas/clickhouse.
type Migration struct {
	Version    uint32
	Name       string
	Statements []string
	Checksum   string
}

// Migrations reads the embedded DDL files ("0001_name.sql") in order.
func Migrations() ([]Migration, error) {
	names, err := fs.Glob(schemas.ClickHouse, "clickhouse/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]Migration, 0, len(names))
	for _, path := range names {
		raw, err := schemas.ClickHouse.ReadFile(path)
		if err != nil {
			return nil, err
		}
		base := strings.TrimSuffix(strings.TrimPrefix(path, "clickhouse/"), ".sql")
		num, name, ok := strings.Cut(base, "_")
		v, err := strconv.ParseUint(num, 10, 32)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", path)
		}
		sum := sha256.Sum256(raw)
		out = append(out, Migration{Version: uint32(v), Name: name, Statements: splitStatements(string(raw)), Checksum: hex.EncodeToString(sum[:8])})
	}
	return out, nil
}

// splitStatements drops "--" comment lines and splits on ";" at line ends.
func splitStatements(sql string) []string {
	var stmts []string
	var cur strings.Builder
	for _, line := range strings.Split(sql, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteString("\n")
		if strings.HasSuffix(trimmed, ";") {
			stmts = append(stmts, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		stmts = append(stmts, s)
	}
	return stmts
}

// Migrate applies the migrations not yet recorded in schema_migrations.
// Several services may migrate at once: every statement is idempotent
// (IF NOT EXISTS), and the table folds duplicate records by version.
func Migrate(ctx context.Context, conn driver.Conn, log *slog.Logger) error {
	if err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version UInt32, name String, checksum String, applied_at DateTime
	) ENGINE = ReplacingMergeTree() ORDER BY version`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	applied, err := appliedVersions(ctx, conn)
	if err != nil {
		return err
	}
	migrations, err := Migrations()
	if err != nil {
		return err
	}
	for _, m := range migrations {
		if sum, ok := applied[m.Version]; ok {
			if sum != m.Checksum {
				return fmt.Errorf("%w: %04d_%s.sql was edited after it was applied to this database; "+
					"put the change in a new migration instead", ErrMigrationChanged, m.Version, m.Name)
			}
			continue
		}
		for _, stmt := range m.Statements {
			if err := conn.Exec(ctx, stmt); err != nil && !columnsExist(stmt, err) {
				return fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
			}
		}
		batch, err := conn.PrepareBatch(ctx, "INSERT INTO schema_migrations (version, name, checksum, applied_at)")
		if err != nil {
			return err
		}
		if err := batch.Append(m.Version, m.Name, m.Checksum, time.Now()); err != nil {
			return err
		}
		if err := batch.Send(); err != nil {
			return fmt.Errorf("record migration %d: %w", m.Version, err)
		}
		log.Info("clickhouse migration applied", "version", m.Version, "name", m.Name)
	}
	return nil
}

// columnsExist reports whether a failed ALTER TABLE ... ADD COLUMN failed
// because its columns are there already. ClickHouse 18.16 has no ADD COLUMN
// IF NOT EXISTS, and a migrator that stopped between the ALTER and its
// record, or another service migrating at the same time, leaves them. One
// ALTER adds all its columns or none, so a migration puts all of its columns
// in one statement.
func columnsExist(stmt string, err error) bool {
	var ex *clickhouse.Exception
	const illegalColumn = 44
	upper := strings.ToUpper(strings.TrimSpace(stmt))
	return errors.As(err, &ex) && ex.Code == illegalColumn && strings.Contains(ex.Message, "already exists") &&
		strings.HasPrefix(upper, "ALTER TABLE") && strings.Contains(upper, "ADD COLUMN")
}

// appliedVersions maps each applied version to its recorded checksum.
func appliedVersions(ctx context.Context, conn driver.Conn) (map[uint32]string, error) {
	rows, err := conn.Query(ctx, "SELECT version, any(checksum) FROM schema_migrations GROUP BY version")
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	defer rows.Close()
	out := map[uint32]string{}
	for rows.Next() {
		var v uint32
		var sum string
		if err := rows.Scan(&v, &sum); err != nil {
			return nil, err
		}
		out[v] = sum
	}
	return out, rows.Err()
}
