// Package natsembed runs a real NATS server with JetStream inside the
// current process, for tests and for `medic demo`.
package natsembed

import (
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server is an embedded NATS server with JetStream on a file store.
type Server struct {
	srv *server.Server
}

// User is one user of a server started with users: it logs in with Name and
// Password and may publish and subscribe only where its lists allow. A nil
// list allows everything (an all-rights user for tests).
type User struct {
	Name      string
	Password  string
	Publish   []string
	Subscribe []string
}

// Start runs a server storing JetStream data under dir. port 0 picks a free
// port; host defaults to loopback. With no users the server is open to any
// client; with users, a client must log in as one of them.
func Start(dir string, port int, users ...User) (*Server, error) {
	opts := &server.Options{
		ServerName: "medic-embedded",
		Host:       "127.0.0.1",
		Port:       port,
		JetStream:  true,
		StoreDir:   dir,
		NoSigs:     true,
		NoLog:      true,
		Users:      serverUsers(users),
	}
	if port == 0 {
		opts.Port = server.RANDOM_PORT
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("embedded nats: not ready after 10s")
	}
	return &Server{srv: srv}, nil
}

func serverUsers(users []User) []*server.User {
	var out []*server.User
	for _, u := range users {
		su := &server.User{Username: u.Name, Password: u.Password}
		if u.Publish != nil || u.Subscribe != nil {
			su.Permissions = &server.Permissions{}
			if u.Publish != nil {
				su.Permissions.Publish = &server.SubjectPermission{Allow: u.Publish}
			}
			if u.Subscribe != nil {
				su.Permissions.Subscribe = &server.SubjectPermission{Allow: u.Subscribe}
			}
		}
		out = append(out, su)
	}
	return out
}

// URL is the client URL of the server.
func (s *Server) URL() string { return s.srv.ClientURL() }

// Shutdown stops the server and waits for it.
func (s *Server) Shutdown() {
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
}
