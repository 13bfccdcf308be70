// Package servicetest holds helpers for integration tests of Medic services
// over real NATS and ClickHouse: an embedded NATS server, a bus client of the
// test's own, polling with a deadline, reading what streams hold, waiting
// for a durable consumer to finish its work, and running a service in the
// background. ClickHouse databases come from pkg/storetest.
//
// Every helper fails the test rather than skipping it when something it
// needs does not answer.
package servicetest

import (
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/natsembed"
)

// PollTimeout is how long Poll waits for a condition before it fails the
// test; it is generous because a loaded machine is slow, not wrong.
const PollTimeout = 30 * time.Second

// pollInterval is how long Poll sleeps between two checks.
const pollInterval = 25 * time.Millisecond

// Source is the CloudEvent source of the events a test publishes.
const Source = "medic/test"

// StartNATS runs an embedded NATS server with JetStream, storing its data in
// a temporary directory, and shuts it down when the test ends.
func StartNATS(t testing.TB) *natsembed.Server {
	t.Helper()
	srv, err := natsembed.Start(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return srv
}

// Connect connects a bus client to the NATS server at url, creates Medic's
// streams, and closes the client when the test ends. It logs in with no
// credentials, as an open server (StartNATS) expects.
func Connect(t testing.TB, url string) *bus.Bus {
	t.Helper()
	return ConnectAs(t, url, bus.Credentials{})
}

// Bus starts an embedded NATS server and returns a bus client connected to
// it, for tests that need nothing else.
func Bus(t testing.TB) *bus.Bus {
	t.Helper()
	return Connect(t, StartNATS(t).URL())
}

// Poll calls cond until it holds, and fails the test, naming what it waited
// for, when PollTimeout passes first.
func Poll(t testing.TB, what string, cond func() bool) {
	t.Helper()
	PollFor(t, what, PollTimeout, cond)
}

// PollFor is Poll with a timeout of its own.
func PollFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(pollInterval)
	}
}
