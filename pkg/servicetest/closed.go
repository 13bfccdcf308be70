package servicetest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/natsembed"
)

// AdminUser is the all-rights user of a closed test server, for what a
// test does beside the services: publish synthetic events, read streams.
const AdminUser = "admin"

// ClosedNATS is an embedded NATS server that only lets in its users: one
// per name of bus.Users with the permissions of bus.Permissions, and
// AdminUser with all rights.
type ClosedNATS struct {
	*natsembed.Server
	creds map[string]bus.Credentials
}

// StartClosedNATS runs a ClosedNATS with fresh random passwords, storing its
// data in a temporary directory, and shuts it down when the test ends.
func StartClosedNATS(t testing.TB) *ClosedNATS {
	t.Helper()
	users, err := natsembed.MedicUsers()
	if err != nil {
		t.Fatal(err)
	}
	users = append(users, natsembed.User{Name: AdminUser, Password: "admin-" + users[0].Password})
	srv, err := natsembed.Start(t.TempDir(), 0, users...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	c := &ClosedNATS{Server: srv, creds: map[string]bus.Credentials{}}
	for _, u := range users {
		c.creds[u.Name] = bus.Credentials{User: u.Name, Password: u.Password}
	}
	return c
}

// Credentials are user's login; an unknown user fails the test.
func (c *ClosedNATS) Credentials(t testing.TB, user string) bus.Credentials {
	t.Helper()
	cr, ok := c.creds[user]
	if !ok {
		t.Fatalf("closed nats has no user %q", user)
	}
	return cr
}

// Connect connects a bus client logged in as user, creates Medic's streams,
// and closes the client when the test ends.
func (c *ClosedNATS) Connect(t testing.TB, user string) *bus.Bus {
	t.Helper()
	return ConnectAs(t, c.URL(), c.Credentials(t, user))
}

// ConnectAs is Connect logged in with creds.
func ConnectAs(t testing.TB, url string, creds bus.Credentials) *bus.Bus {
	t.Helper()
	b, err := bus.Connect(url, Source, slog.New(slog.DiscardHandler), creds.Options()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	return b
}
