package store

import (
	"flag"

	"github.com/medic-sre/medic/pkg/flagenv"
)

// DefaultAddr is the ClickHouse address the services and the medic CLI use
// unless told otherwise: the standard native-protocol port on this host.
const DefaultAddr = "127.0.0.1:9000"

// DefaultDatabase is the database Medic's tables live in.
const DefaultDatabase = "medic"

// RegisterFlags declares the ClickHouse flags on fs, each with its
// environment twin. Every service and every medic command that reads
// ClickHouse declares them here, so that they agree on names and defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	flagenv.StringVar(fs, &c.Addr, "clickhouse-addr", "CLICKHOUSE_ADDR", DefaultAddr, "ClickHouse native-protocol address")
	flagenv.StringVar(fs, &c.Database, "clickhouse-database", "CLICKHOUSE_DATABASE", DefaultDatabase, "ClickHouse database")
	flagenv.StringVar(fs, &c.User, "clickhouse-user", "CLICKHOUSE_USER", "default", "ClickHouse user")
	flagenv.SecretVar(fs, &c.Password, "clickhouse-password", "CLICKHOUSE_PASSWORD", "ClickHouse password")
}
