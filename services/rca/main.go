// Command rca is Medic's root-cause analyzer: for each opened incident it
// ranks the services, model versions and changes that explain the symptom,
// and publishes them as rca.completed.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/services/rca/internal/app"
)

func main() {
	var opts app.Options
	fs := flag.NewFlagSet("rca", flag.ExitOnError)
	opts.RegisterFlags(fs)
	if err := service.Parse(fs, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "rca:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Run(ctx, opts); err != nil {
		fmt.Fprintln(os.Stderr, "rca:", err)
		os.Exit(1)
	}
}
