// Command correlator groups anomalies into incidents and owns their
// lifecycle (opened, acknowledged, mitigated, resolved), writing each
// transition to ClickHouse; it also archives every event on the bus.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/services/correlator/internal/app"
)

func main() {
	var opts app.Options
	fs := flag.NewFlagSet(app.Name, flag.ExitOnError)
	opts.RegisterFlags(fs)
	if err := service.Parse(fs, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "correlator:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := app.Run(ctx, opts); err != nil {
		fmt.Fprintln(os.Stderr, "correlator:", err)
		os.Exit(1)
	}
}
