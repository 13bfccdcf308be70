package service

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/medic-sre/medic/pkg/flagenv"
)

// Main is the whole of a service's main function: register declares the
// flags, the command line is parsed (a flag wins over its environment twin),
// and run gets a context that SIGINT and SIGTERM cancel, for a graceful
// shutdown. An error prints as "name: error" and exits with status 2 for bad
// flags or environment values, 1 otherwise.
func Main(name string, register func(fs *flag.FlagSet), run func(ctx context.Context) error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	register(fs)
	if err := flagenv.Parse(fs, os.Args[1:]); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, name+":", err)
		}
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}
