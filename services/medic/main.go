// Command medic is the operator's CLI: `medic up` runs Medic for a user's
// own system; `medic demo` runs the whole stack on
// one machine and recovers a bad model deploy end to end; `medic sql`,
// `medic incidents` and `medic timeline` query incident history.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/medic-sre/medic/services/medic/internal/cli"
)

const usage = `medic: cut the MTTR of ML systems

usage:
  medic up         run Medic for your own system: OTLP, Kafka, alert webhooks in (--with-simulator adds one)
  medic demo       run Medic and the simulator, inject a bad model version, recover it
  medic sql QUERY  run an SQL query against Medic's ClickHouse database
  medic incidents  list recent incidents with MTTD, MTTA and MTTR
  medic timeline ID  show one incident's timeline
  medic rca --from TIME --to TIME --symptom service=NAME[,metric=latency]
                   rank the causes of a symptom in any window (asks the rca service; see docs/RCA.md)
  medic nats-server  run the embedded NATS JetStream server as its own process (for tests and the soak)
  medic webhook-sink  receive the notifier's webhooks, check their signatures and print them (docker compose)

Every command but rca takes --clickhouse-addr (env CLICKHOUSE_ADDR) and
--clickhouse-database (env CLICKHOUSE_DATABASE); rca takes --rca-url (env
RCA_URL); "medic CMD -h" lists the rest.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	cmds := map[string]func(context.Context, []string) error{
		"up": cli.Up, "demo": cli.Demo, "sql": cli.SQL, "incidents": cli.Incidents, "timeline": cli.Timeline,
		"nats-server": cli.NATSServer, "webhook-sink": cli.WebhookSink, "rca": cli.RCA,
	}
	run, ok := cmds[os.Args[1]]
	if !ok {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if err := run(ctx, os.Args[2:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "medic:", err)
		os.Exit(cli.ExitCode(err))
	}
}
