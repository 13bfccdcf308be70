package bus_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/kv"
	"github.com/medic-sre/medic/pkg/outcome"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestPermissionsTable(t *testing.T) {
	tests := []struct {
		name    string
		user    string
		want    []string // must be in the publish list
		notWant []string // must not be
	}{
		{"rca publishes rca.completed", "rca", []string{"medic.events.rca.completed.*"}, []string{"medic.events.incident.*.*"}},
		{"correlator publishes incidents", "correlator", []string{"medic.events.incident.*.*", "$KV.medic_correlator_groups.>"}, []string{"medic.events.rca.completed.*"}},
		{"the front door publishes the telemetry subjects, changes and anomalies", "ingest", []string{"medic.telemetry.points.*", "medic.telemetry.spans.*",
			"medic.telemetry.logs.*", "medic.events.change.recorded.*", "medic.events.anomaly.*.*"}, []string{"medic.events.>", "medic.telemetry.>"}},
		{"the archiver publishes no events and reads the incidents bucket", "archiver",
			[]string{"medic.dlq.>", "$JS.API.CONSUMER.MSG.NEXT.KV_medic_correlator_incidents.*"},
			[]string{"medic.events.>", "medic.telemetry.>", "$KV.medic_correlator_incidents.>", "$JS.API.*.*.KV_medic_correlator_incidents"}},
		{"the front door reads the telemetry stream and its consumers' backlog", "ingest",
			[]string{"$JS.API.*.*." + bus.StreamTelemetry, "$JS.API.*.*." + bus.StreamTelemetry + ".>"}, []string{"$JS.API.>"}},
		{"every service dead-letters", "notifier", []string{"medic.dlq.>", "$JS.ACK.>"}, []string{"$JS.API.>", "$KV.>"}},
		{"the CLI publishes no events", bus.UserCLI, []string{"$JS.API.STREAM.INFO.MEDIC_EVENTS"}, []string{"medic.events.>", "medic.dlq.>", "$JS.API.>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := bus.Permissions(tt.user)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.want {
				if !slices.Contains(g.Publish, s) {
					t.Errorf("publish %v lacks %s", g.Publish, s)
				}
			}
			for _, s := range tt.notWant {
				if slices.Contains(g.Publish, s) {
					t.Errorf("publish has %s", s)
				}
			}
			for _, s := range g.Publish {
				if strings.HasPrefix(s, "medic.events.") && strings.HasSuffix(s, ".>") {
					t.Errorf("%s is not limited to its own event types", s)
				}
			}
		})
	}
	if _, err := bus.Permissions("mallory"); !errors.Is(err, bus.ErrUnknownUser) {
		t.Errorf("unknown user: err = %v, want ErrUnknownUser", err)
	}
}

// publishRaw publishes data on subject through b's JetStream, as any client
// could, bypassing the bus's own checks.
func publishRaw(b *bus.Bus, subject string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := b.JetStream().Publish(ctx, subject, []byte(`{"forged":true}`))
	return err
}

// storedOn counts the messages of the events stream on subject.
func storedOn(t *testing.T, admin *bus.Bus, subject string) uint64 {
	t.Helper()
	ctx := context.Background()
	s, err := admin.JetStream().Stream(ctx, bus.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Subjects[subject]
}

func TestClosedBusPublish(t *testing.T) {
	srv := servicetest.StartClosedNATS(t)
	admin := srv.Connect(t, servicetest.AdminUser)
	tests := []struct {
		user    string
		subject string
		allowed bool
	}{
		{"ingest", "medic.events.rca.completed.v2", false},
		{"detector", "medic.events.rca.completed.v2", false},
		{"correlator", "medic.events.rca.completed.v1", false},
		{"remediator", "medic.events.rca.completed.v2", false},
		{"ingest", "medic.events.incident.opened.v1", false},
		{"detector", "medic.events.incident.opened.v1", false},
		{"rca", "medic.events.incident.opened.v1", false},
		{bus.UserCLI, "medic.events.incident.opened.v1", false},
		{"rca", "medic.events.rca.completed.v2", true},
		{"rca", "medic.events.rca.completed.v1", true},
		{"correlator", "medic.events.incident.opened.v1", true},
		{"correlator", "medic.events.incident.acknowledged.v2", true},
	}
	for _, tt := range tests {
		t.Run(tt.user+" on "+tt.subject, func(t *testing.T) {
			var b *bus.Bus
			if tt.user == bus.UserCLI {
				// The CLI may not create streams, so it cannot Setup.
				b = connectNoSetup(t, srv.URL(), srv.Credentials(t, tt.user))
			} else {
				b = srv.Connect(t, tt.user)
			}
			before := storedOn(t, admin, tt.subject)
			err := publishRaw(b, tt.subject)
			after := storedOn(t, admin, tt.subject)
			switch {
			case tt.allowed && (err != nil || after != before+1):
				t.Errorf("publish: err %v, stored %d -> %d; want it stored", err, before, after)
			case !tt.allowed && (err == nil || after != before):
				t.Errorf("publish: err %v, stored %d -> %d; want it refused", err, before, after)
			}
		})
	}
}

func connectNoSetup(t *testing.T, url string, creds bus.Credentials) *bus.Bus {
	t.Helper()
	b, err := bus.Connect(url, servicetest.Source, slog.New(slog.DiscardHandler), creds.Options()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	servicetest.Poll(t, "connected", func() bool { return b.Conn().IsConnected() })
	return b
}

// Clients that do not log in as a known user are not let in at all.
func TestClosedBusRefusesStrangers(t *testing.T) {
	srv := servicetest.StartClosedNATS(t)
	rca := srv.Credentials(t, "rca")
	tests := []struct {
		name  string
		creds bus.Credentials
	}{
		{"no credentials", bus.Credentials{}},
		{"unknown user", bus.Credentials{User: "mallory", Password: rca.Password}},
		{"wrong password", bus.Credentials{User: "rca", Password: "guess"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, err := nats.Connect(srv.URL(), tt.creds.Options()...)
			if err == nil {
				nc.Close()
				t.Fatal("connected")
			}
			if !errors.Is(err, nats.ErrAuthorization) {
				t.Errorf("err = %v, want an authorization violation", err)
			}
		})
	}
}

// The bus says why a denied publish failed, although the server reports
// the denial apart from the publish.
func TestClosedBusPublishError(t *testing.T) {
	srv := servicetest.StartClosedNATS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := srv.Connect(t, "detector").Emit(ctx, "c1", change("c1"))
	if !errors.Is(err, nats.ErrPermissionViolation) {
		t.Errorf("detector emitting change.recorded: err = %v, want a permissions violation", err)
	}
	if _, err := srv.Connect(t, "ingest").Emit(context.Background(), "c1", change("c1")); err != nil {
		t.Errorf("ingest emitting change.recorded: %v", err)
	}
}

// What every service does on the bus works under its own permissions:
// set up the streams, consume with acks, dead-letter, publish with an
// acknowledgement, and use its KV buckets (create, claim, get, watch).
func TestClosedBusServiceWork(t *testing.T) {
	srv := servicetest.StartClosedNATS(t)
	admin := srv.Connect(t, servicetest.AdminUser)
	for _, user := range bus.Users() {
		if user == bus.UserCLI {
			continue
		}
		t.Run(user, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			b := srv.Connect(t, user)
			for _, name := range bus.Buckets(user) {
				c, err := kv.Open[string](ctx, kv.JetStream(b.JetStream()), kv.Config{Bucket: name, Description: "test", TTL: time.Hour})
				if err != nil {
					t.Fatalf("open %s: %v", name, err)
				}
				if _, err := c.Create(ctx, "k-"+user, "v"); err != nil {
					t.Fatalf("claim in %s: %v", name, err)
				}
				if ks, err := c.Keys(ctx); err != nil || len(ks) != 1 || ks[0] != "k-"+user {
					t.Fatalf("keys of %s: %q, %v", name, ks, err)
				}
				kv, err := b.JetStream().KeyValue(ctx, name)
				if err != nil {
					t.Fatal(err)
				}
				w, err := kv.WatchAll(ctx)
				if err != nil {
					t.Fatalf("watch %s: %v", name, err)
				}
				if e := <-w.Updates(); e == nil || e.Key() != "k-"+user {
					t.Errorf("watch %s: first update %v", name, e)
				}
				_ = w.Stop()
			}
			id := "work-" + user
			if _, err := admin.Emit(ctx, id, change(id)); err != nil {
				t.Fatal(err)
			}
			var handled atomic.Int32
			cons, err := b.Consume(ctx, bus.ConsumerSpec{Stream: bus.StreamEvents, Durable: "work_" + user,
				FilterSubjects: []string{"medic.events.change.recorded.v1"}},
				bus.On(func(ctx context.Context, ev events.Meta, _ events.ChangeRecorded) error {
					if ev.ID == id {
						handled.Add(1)
					}
					return outcome.Permanent(errors.New("dead-letter it"))
				}))
			if err != nil {
				t.Fatalf("consume: %v", err)
			}
			defer func() { _ = cons.Drain(context.Background()) }()
			servicetest.Poll(t, "the event dead-lettered", func() bool {
				return servicetest.Count(t, admin.JetStream(), bus.StreamDLQ, "medic.dlq.medic.events.change.recorded.v1") >= 1 &&
					handled.Load() > 0
			})
			servicetest.WaitConsumed(t, admin.JetStream(), bus.StreamEvents, "work_"+user)
		})
	}
}

// The archiver follows the correlator's incidents bucket through a durable
// consumer of its own (create, pull, ack) and may not write the bucket or
// publish events.
func TestClosedBusArchiverReadsIncidents(t *testing.T) {
	srv := servicetest.StartClosedNATS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	correlator := srv.Connect(t, "correlator")
	kv, err := correlator.JetStream().CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "medic_correlator_incidents"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "inc-1", []byte(`{"id":"inc-1"}`)); err != nil {
		t.Fatal(err)
	}
	archiver := srv.Connect(t, "archiver")
	js := archiver.JetStream()
	cons, err := js.CreateOrUpdateConsumer(ctx, "KV_medic_correlator_incidents", jetstream.ConsumerConfig{
		Durable: "archiver-incidents", AckPolicy: jetstream.AckExplicitPolicy, DeliverPolicy: jetstream.DeliverAllPolicy})
	if err != nil {
		t.Fatalf("consumer on the incidents bucket: %v", err)
	}
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var got int
	for m := range batch.Messages() {
		if err := m.Ack(); err != nil {
			t.Fatal(err)
		}
		got++
	}
	if got != 1 || batch.Error() != nil {
		t.Fatalf("pulled %d saves (%v), want 1", got, batch.Error())
	}
	if _, err := js.Publish(ctx, "$KV.medic_correlator_incidents.inc-2", []byte("{}")); err == nil {
		t.Error("the archiver wrote the correlator's incidents bucket")
	}
	if err := publishRaw(archiver, "medic.events.incident.opened.v1"); err == nil {
		t.Error("the archiver published an event")
	}
}
