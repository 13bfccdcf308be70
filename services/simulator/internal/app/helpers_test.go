package app

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/nats-io/nats.go/jetstream"
)

// call does one HTTP request and decodes the JSON answer into out.
func call(t *testing.T, method, url, actor, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if actor != "" {
		req.Header.Set("X-Medic-Actor", actor)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s answered %d %q: %v", method, url, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode
}

// consumer is a throwaway durable consumer of one event type.
func consumer(t *testing.T, js jetstream.JetStream, stream, durable, eventType string) jetstream.Consumer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{Durable: durable,
		FilterSubject: events.Subject(eventType), DeliverPolicy: jetstream.DeliverNewPolicy, AckPolicy: jetstream.AckNonePolicy})
	if err != nil {
		t.Fatalf("consumer on %s: %v", stream, err)
	}
	return c
}

// next returns the next valid event from c, failing after timeout.
func next(t *testing.T, c jetstream.Consumer, timeout time.Duration) cloudevents.Event {
	t.Helper()
	batch, err := c.Fetch(1, jetstream.FetchMaxWait(timeout))
	if err != nil {
		t.Fatal(err)
	}
	if msg, ok := <-batch.Messages(); ok {
		ev, err := events.Decode(msg.Data())
		if err != nil {
			t.Fatalf("invalid event on %s: %v", msg.Subject(), err)
		}
		return ev
	}
	t.Fatalf("no event within %s (%v)", timeout, batch.Error())
	return cloudevents.Event{}
}

func nextChange(t *testing.T, c jetstream.Consumer) events.ChangeRecorded {
	t.Helper()
	ch, err := events.As[events.ChangeRecorded](next(t, c, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return ch
}
