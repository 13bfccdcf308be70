package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/medic-sre/medic/pkg/flagenv"
	"github.com/medic-sre/medic/pkg/natsembed"
	"github.com/medic-sre/medic/services/medic/internal/stack"
)

// NATSServer runs the embedded NATS JetStream server (pkg/natsembed) as a
// process of its own, until SIGINT or SIGTERM, so that a test or the soak
// can kill it with SIGKILL and start it again on the same store directory
// and port.
func NATSServer(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("medic nats-server", flag.ContinueOnError)
	var storeDir, usersFile string
	var port int
	flagenv.StringVar(fs, &storeDir, "store-dir", "MEDIC_NATS_STORE_DIR", "", "directory of the JetStream file store")
	flagenv.IntVar(fs, &port, "port", "MEDIC_NATS_PORT", 4222, "client port on 127.0.0.1 (0: any free port)")
	flagenv.StringVar(fs, &usersFile, "users-file", "MEDIC_NATS_USERS_FILE", "", "JSON list of users (name, password, publish and subscribe allow lists); empty: an open server")
	if err := flagenv.Parse(fs, args); err != nil {
		return err
	}
	if storeDir == "" {
		return errors.New("--store-dir (MEDIC_NATS_STORE_DIR) is required")
	}
	users, err := readUsers(usersFile)
	if err != nil {
		return err
	}
	srv, err := natsembed.Start(storeDir, port, users...)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "medic nats-server: listening on %s with %d user(s), store %s\n", srv.URL(), len(users), storeDir)
	<-ctx.Done()
	srv.Shutdown()
	fmt.Fprintln(os.Stderr, "medic nats-server: stopped")
	return nil
}

func readUsers(path string) ([]natsembed.User, error) {
	if path == "" {
		return nil, nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var users stack.UsersFile
	if err := json.Unmarshal(raw, &users); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return users, nil
}
