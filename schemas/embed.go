// Package schemas embeds Medic's contracts: the JSON Schema of every CloudEvent
// type (events/) and the ordered ClickHouse migrations (clickhouse/). The files
// are the single source of truth; Go code validates against them at run time.
package schemas

import "embed"

// Events holds one JSON Schema per CloudEvent type, named "<type>.json".
//
//go:embed events/*.json
var Events embed.FS

// ClickHouse holds the DDL migrations, applied in file-name order.
//
//go:embed clickhouse/*.sql
var ClickHouse embed.FS
