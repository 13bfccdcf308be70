package app

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/medic-sre/medic/pkg/store"
	"github.com/medic-sre/medic/services/ingest/internal/otlp"
)

// POST /v1/changes is served on the runtime's port behind the alert
// webhooks' token, and is not served at all without one.
func TestChangesThroughTheService(t *testing.T) {
	nats := servicetest.StartNATS(t)
	run := func(token string) *servicetest.Service {
		httpLn := servicetest.Listen(t)
		opts := Options{Service: service.Options{NATSURL: nats.URL(), LogLevel: "error", ShutdownTimeout: 10 * time.Second,
			ClickHouse: store.Config{Addr: "127.0.0.1:1", Database: "none"}},
			OTLPHTTPAddr: httpLn.Addr().String(), OTLP: otlp.DefaultConfig(), AlertsToken: token}
		svc := servicetest.Run(t, Name, func(ctx context.Context, ln net.Listener) error {
			return RunWithListeners(ctx, opts, Listeners{Runtime: ln, OTLPHTTP: httpLn})
		})
		svc.WaitReady(t)
		return svc
	}
	post := func(url, token string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, url+"/v1/changes", strings.NewReader(`{"change_id":"deploy-7","kind":"deploy","service":"model-server","model_version":"v2"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}

	off := run("")
	if code := post(off.URL, "anything"); code != http.StatusNotFound {
		t.Fatalf("without --alerts-token /v1/changes answered %d, want 404", code)
	}
	off.Stop()

	on := run("s3cret")
	if code := post(on.URL, "wrong"); code != http.StatusUnauthorized {
		t.Fatalf("a wrong token answered %d, want 401", code)
	}
	if code := post(on.URL, "s3cret"); code != http.StatusAccepted {
		t.Fatalf("POST /v1/changes answered %d, want 202", code)
	}
	pub := servicetest.Connect(t, nats.URL())
	evs := servicetest.ReadEvents(t, pub.JetStream(), bus.StreamEvents, events.Subject(events.TypeChangeRecorded))
	if len(evs) != 1 || evs[0].ID() != "deploy-7" {
		t.Fatalf("change events %v, want deploy-7", evs)
	}
}
