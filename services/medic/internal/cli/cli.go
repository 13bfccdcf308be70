// Package cli implements the medic subcommands.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/medic-sre/medic/pkg/flagenv"
	"github.com/medic-sre/medic/pkg/store"
	"github.com/medic-sre/medic/services/medic/internal/history"
)

// Exit codes beyond 1.
const (
	exitNotRecovered = 1
	exitNoClickHouse = 3
)

// ErrNoClickHouse means no ClickHouse answered; the message says what to do.
var ErrNoClickHouse = errors.New("no ClickHouse")

// ErrNotRecovered means the demo's incident did not recover.
var ErrNotRecovered = errors.New("the incident did not recover")

// ExitCode maps an error to the process exit code.
func ExitCode(err error) int {
	switch {
	case errors.Is(err, ErrNoClickHouse):
		return exitNoClickHouse
	default:
		return exitNotRecovered
	}
}

// clickHouseFlags is the flag set of a command that reads ClickHouse, with
// the ClickHouse flags every service declares too (store.Config.RegisterFlags):
// the same names, environment twins and defaults.
func clickHouseFlags(name string, cfg *store.Config) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	return fs
}

// openStore connects, creates the database and applies migrations, or says
// how to get a ClickHouse.
func openStore(ctx context.Context, cfg store.Config, wait time.Duration) (*store.Store, error) {
	s, err := store.Open(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if err := s.Setup(sctx); err != nil {
		if errors.Is(err, store.ErrMigrationChanged) {
			return nil, err
		}
		return nil, fmt.Errorf("%w at %s.\n"+
			"  - `make demo` and `make test` start a private ClickHouse on Debian when run as root (scripts/clickhouse.sh start);\n"+
			"    point this command at it with: export CLICKHOUSE_ADDR=$(scripts/clickhouse.sh addr)\n"+
			"  - or point Medic at your own server: export CLICKHOUSE_ADDR=host:9000 (native protocol);\n"+
			"  - or run the whole stack in containers: docker compose up", ErrNoClickHouse, cfg.Addr)
	}
	return s, nil
}

// SQL runs one query and prints the result.
func SQL(ctx context.Context, args []string) error {
	var cfg store.Config
	fs := clickHouseFlags("medic sql", &cfg)
	if err := flagenv.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("usage: medic sql \"SELECT ...\"")
	}
	s, err := openStore(ctx, cfg, 10*time.Second)
	if err != nil {
		return err
	}
	// Only reads went through s, so a failed close loses nothing.
	defer func() { _ = s.Close() }()
	_, err = history.Print(ctx, s.Conn(), fs.Arg(0), os.Stdout)
	return err
}

// IncidentsSQL lists recent incidents with their durations.
const IncidentsSQL = `SELECT
    incident_id,
    toString(status) AS status,
    title,
    top_cause,
    runbook,
    remediation_outcome AS outcome,
    round(if(fault_started_unix_nano > 0, (detected_unix_nano - fault_started_unix_nano) / 1e9, -1), 2) AS mttd_s,
    round(if(acknowledged_unix_nano > 0, (acknowledged_unix_nano - detected_unix_nano) / 1e9, -1), 2) AS mtta_s,
    round(if(resolved_unix_nano > 0, (resolved_unix_nano - if(fault_started_unix_nano > 0, fault_started_unix_nano, detected_unix_nano)) / 1e9, -1), 2) AS mttr_s
FROM incidents FINAL
ORDER BY opened_unix_nano DESC
LIMIT 20`

// Incidents lists recent incidents.
func Incidents(ctx context.Context, args []string) error {
	return SQL(ctx, append(args, IncidentsSQL))
}

// Timeline prints one incident's events.
func Timeline(ctx context.Context, args []string) error {
	var cfg store.Config
	fs := clickHouseFlags("medic timeline", &cfg)
	if err := flagenv.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("usage: medic timeline INCIDENT_ID")
	}
	s, err := openStore(ctx, cfg, 10*time.Second)
	if err != nil {
		return err
	}
	// Only reads went through s, so a failed close loses nothing.
	defer func() { _ = s.Close() }()
	in, err := history.Get(ctx, s.Conn(), fs.Arg(0))
	if err != nil {
		return err
	}
	entries, err := history.Timeline(ctx, s.Conn(), in)
	if err != nil {
		return err
	}
	for _, e := range entries {
		fmt.Printf("%s  %-36s %-18s %s\n", time.Unix(0, e.TimeUnixNano).UTC().Format("2006-01-02 15:04:05.000"), e.Type, e.Source, e.Data)
	}
	return nil
}
