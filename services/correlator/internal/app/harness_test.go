package app

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/archive"
	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/natsembed"
	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/medic-sre/medic/pkg/store"
	"github.com/medic-sre/medic/pkg/storetest"
	"github.com/medic-sre/medic/services/correlator/internal/correlate"
	"github.com/medic-sre/medic/services/correlator/internal/state"
)

// env is what a user of the correlator sees: the bus it listens on and the
// ClickHouse database the archiver writes from what the correlator saves
// and publishes. The tests run the archiver's incident follower and events
// consumer (pkg/archive) beside the correlator, so that they check the
// contract between the correlator's saved state and the incidents table.
type env struct {
	nats *natsembed.Server
	db   *store.Store
	pub  *bus.Bus
	// unknownWait, when set, shortens how long the correlator waits for an
	// unknown incident.
	unknownWait time.Duration
	// chAddr, when set, is the ClickHouse address the archiver's parts
	// dial (a proxy's); the test's own queries go straight to the server.
	chAddr   string
	archiver bool
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := servicetest.StartNATS(t)
	e := &env{nats: srv, db: storetest.New(t)}
	e.pub = servicetest.Connect(t, srv.URL())
	return e
}

// start runs the real correlator until the returned stop is called, and
// waits until /readyz says it is ready.
func (e *env) start(t *testing.T) (stop func()) {
	t.Helper()
	svc := e.run(t)
	svc.WaitReady(t)
	return svc.Stop
}

// run runs the real correlator without waiting for it to be ready.
func (e *env) run(t *testing.T) *servicetest.Service {
	t.Helper()
	addr := e.chAddr
	if addr == "" {
		addr = storetest.Addr()
	}
	opts := Options{Service: service.Options{Name: Name, NATSURL: e.nats.URL(), LogLevel: "error",
		ClickHouse: store.Config{Addr: addr, Database: e.db.Database()}, ShutdownTimeout: 10 * time.Second},
		unknownIncidentWait: e.unknownWait}
	svc := servicetest.Run(t, "correlator", func(ctx context.Context, ln net.Listener) error {
		return RunWithListener(ctx, opts, ln)
	})
	if !e.archiver {
		e.archiver = true
		e.archive(t, addr)
	}
	return svc
}

// archive runs the archiver's incidents follower and events consumer on
// the ClickHouse at addr until the test ends.
func (e *env) archive(t *testing.T, addr string) {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	st, err := store.Open(store.Config{Addr: addr, Database: e.db.Database()}, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	setup := make(chan struct{})
	go func() { defer close(setup); _ = st.Setup(ctx) }()
	b := servicetest.Connect(t, e.nats.URL())
	spec := archive.Consumers()[0]
	// As in the archiver: while ClickHouse is down, nothing is
	// dead-lettered.
	spec.Healthy, spec.RetryMax = st.Ready, time.Second
	c, err := b.ConsumeItems(ctx, spec, archive.Route(spec.Durable, st))
	if err != nil {
		t.Fatal(err)
	}
	f, err := archive.FollowIncidents(ctx, log, b.JetStream(), archive.NewIncidentWriter(st))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		dctx, done := context.WithTimeout(context.Background(), 10*time.Second)
		defer done()
		_ = c.Drain(dctx)
		_ = f.Drain(dctx)
		cancel()
		<-setup
		_ = st.Close()
	})
}

func (e *env) emit(t *testing.T, id string, d events.Data) {
	t.Helper()
	if _, err := e.pub.Emit(context.Background(), id, d); err != nil {
		t.Fatalf("emit %s %s: %v", d.EventType(), id, err)
	}
}

// waitIdle waits until the correlator has acked the newest event on its
// subjects (and everything before it), and has written the incidents rows
// of every state it saved.
func (e *env) waitIdle(t *testing.T) {
	t.Helper()
	servicetest.WaitConsumed(t, e.pub.JetStream(), bus.StreamEvents, correlate.Durable)
	servicetest.WaitConsumed(t, e.pub.JetStream(), "KV_"+state.BucketIncidents, archive.DurableIncidents)
}

// counts is the number of stored messages per subject in a stream.
func (e *env) counts(t *testing.T, stream, filter string) map[string]uint64 {
	t.Helper()
	return servicetest.Counts(t, e.pub.JetStream(), stream, filter)
}

func (e *env) count(t *testing.T, eventType string) uint64 {
	t.Helper()
	return servicetest.Count(t, e.pub.JetStream(), bus.StreamEvents, events.Subject(eventType))
}

// last is the newest event of a type on the bus.
func last[T events.Data](t *testing.T, e *env) T {
	t.Helper()
	var zero T
	s, err := e.pub.JetStream().Stream(context.Background(), bus.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := s.GetLastMsgForSubject(context.Background(), events.Subject(zero.EventType()))
	if err != nil {
		t.Fatalf("no %s on the bus: %v", zero.EventType(), err)
	}
	ev, err := events.Decode(msg.Data)
	if err != nil {
		t.Fatal(err)
	}
	return servicetest.As[T](t, ev)
}

// lastTransition is the newest incident transition to status on the bus.
func lastTransition(t *testing.T, e *env, status string) events.IncidentTransition {
	t.Helper()
	return servicetest.As[events.IncidentTransition](t, lastEvent(t, e, events.IncidentTransition{Status: status}.EventType()))
}
