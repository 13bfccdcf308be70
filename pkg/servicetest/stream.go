package servicetest

import (
	"context"
	"errors"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/nats-io/nats.go/jetstream"
)

// ReadStream returns the messages stream holds on subject, which may hold
// wildcards, oldest first.
func ReadStream(t testing.TB, js jetstream.JetStream, stream, subject string) []jetstream.RawStreamMsg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	var out []jetstream.RawStreamMsg
	for seq := uint64(1); ; {
		m, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return out
		}
		if err != nil {
			t.Fatalf("read %s %s: %v", stream, subject, err)
		}
		out = append(out, *m)
		seq = m.Sequence + 1
	}
}

// ReadEvents returns the events stream holds on subject, oldest first, and
// fails the test on any message that is not a valid event.
func ReadEvents(t testing.TB, js jetstream.JetStream, stream, subject string) []cloudevents.Event {
	t.Helper()
	var out []cloudevents.Event
	for _, m := range ReadStream(t, js, stream, subject) {
		ev, err := events.Decode(m.Data)
		if err != nil {
			t.Fatalf("bad event on %s: %v", m.Subject, err)
		}
		out = append(out, ev)
	}
	return out
}

// Counts is the number of messages stream holds per subject, for the
// subjects that filter matches.
func Counts(t testing.TB, js jetstream.JetStream, stream, filter string) map[string]uint64 {
	t.Helper()
	ctx := context.Background()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Subjects
}

// Count is the number of messages stream holds on subject.
func Count(t testing.TB, js jetstream.JetStream, stream, subject string) uint64 {
	t.Helper()
	var n uint64
	for _, c := range Counts(t, js, stream, subject) {
		n += c
	}
	return n
}

// As decodes an event's data as T and fails the test when it cannot.
func As[T events.Data](t testing.TB, ev cloudevents.Event) T {
	t.Helper()
	d, err := events.As[T](ev)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
