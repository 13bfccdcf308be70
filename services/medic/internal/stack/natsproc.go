package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/natsembed"
	"github.com/nats-io/nats.go"
)

// natsProcess is the name of the NATS server when it runs as a process of
// its own (Config.NATSProcess).
const natsProcess = "nats"

// UsersFile is the format of `medic nats-server --users-file`: the users
// of a closed bus, passwords included.
type UsersFile []natsembed.User

// startNATSProcess runs `medic nats-server` on a fixed port, so that after
// a kill it restarts where the services reconnect to, on the store
// directory it had.
func (s *Stack) startNATSProcess(users []natsembed.User) error {
	addr, err := FreeAddr()
	if err != nil {
		return err
	}
	_, port, _ := net.SplitHostPort(addr)
	raw, err := json.Marshal(UsersFile(users))
	if err != nil {
		return err
	}
	// The file holds every user's password: readable by this user only.
	usersPath := filepath.Join(s.cfg.WorkDir, "nats-users.json")
	if err := os.WriteFile(usersPath, raw, 0o600); err != nil {
		return err
	}
	p, err := startProcess(natsProcess, binPath(s.cfg.BinDir, "medic"), filepath.Join(s.cfg.WorkDir, "logs", "nats.log"), "", nil,
		"nats-server", "--store-dir", filepath.Join(s.cfg.WorkDir, "nats"), "--port", port, "--users-file", usersPath)
	if err != nil {
		return err
	}
	s.NATSURL = "nats://" + addr
	p.ready = s.natsReady(p)
	s.Procs[natsProcess] = p
	s.order = append(s.order, p)
	s.progress("started %-10s pid %-7d %s", natsProcess, p.Pid(), s.NATSURL)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return p.WaitReady(ctx)
}

// natsReady waits until the CLI user can log in to p and JetStream answers.
func (s *Stack) natsReady(p *Process) func(context.Context) error {
	return func(ctx context.Context) error {
		var last error
		for {
			nc, err := s.ConnectAs(bus.UserCLI)
			if err == nil {
				js, _ := nc.JetStream()
				_, err = js.AccountInfo(nats.Context(ctx))
				nc.Close()
				if err == nil {
					return nil
				}
			}
			last = err
			if p.Exited() {
				return fmt.Errorf("nats exited before it was ready; see %s", p.LogPath)
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("nats not ready: %w (last error: %w); see %s", ctx.Err(), last, p.LogPath)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

// ConnectAs connects to the stack's NATS server as one of its users (a
// service's name or bus.UserCLI), for a harness that reads what that user
// may read: its own KV buckets, the streams' consumers. It reconnects
// without end, since a harness may restart the server under it.
func (s *Stack) ConnectAs(user string) (*nats.Conn, error) {
	u, ok := s.logins[user]
	if !ok {
		return nil, fmt.Errorf("no login %q on this stack (an external NATS has none)", user)
	}
	nc, err := nats.Connect(s.NATSURL, nats.UserInfo(u.Name, u.Password), nats.Name("medic-"+user+"-observer"),
		nats.MaxReconnects(-1), nats.ReconnectWait(200*time.Millisecond))
	if err != nil {
		return nil, fmt.Errorf("nats %s as %s: %w", s.NATSURL, user, err)
	}
	return nc, nil
}
