package cli

import (
	"flag"
	"os"
	"testing"

	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/pkg/store"
)

// The commands that read ClickHouse and the services declare the same
// ClickHouse flags with the same defaults: `medic incidents` with no flags
// reads the database the services write to. The CLI used to default to
// 127.0.0.1:19000 and the services to 127.0.0.1:9000.
func TestClickHouseFlagsMatchTheServices(t *testing.T) {
	for _, env := range []string{"CLICKHOUSE_ADDR", "CLICKHOUSE_DATABASE", "CLICKHOUSE_USER", "CLICKHOUSE_PASSWORD"} {
		t.Setenv(env, "")
		os.Unsetenv(env)
	}
	var o service.Options
	svc := flag.NewFlagSet("rca", flag.ContinueOnError)
	o.RegisterFlags(svc)
	for _, name := range []string{"medic sql", "medic timeline", "medic demo"} {
		var cfg store.Config
		cli := clickHouseFlags(name, &cfg)
		for _, f := range []string{"clickhouse-addr", "clickhouse-database", "clickhouse-user", "clickhouse-password"} {
			want, got := svc.Lookup(f), cli.Lookup(f)
			if got == nil || got.DefValue != want.DefValue || got.Usage != want.Usage {
				t.Errorf("%s --%s = %+v, want the services' %+v", name, f, got, want)
			}
		}
	}
	if got := svc.Lookup("clickhouse-addr").DefValue; got != store.DefaultAddr {
		t.Errorf("--clickhouse-addr defaults to %q, want %q", got, store.DefaultAddr)
	}
}
