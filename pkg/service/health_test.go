package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/medic-sre/medic/pkg/storetest"
)

// probeBudget is how long a probe may take to answer. Kubernetes gives a
// probe one second by default; an answer from cached state takes far less.
const probeBudget = 200 * time.Millisecond

// probe GETs url and returns the status, the body's "failing" map and the
// time the answer took.
func probe(t *testing.T, url string) (int, map[string]any, time.Duration) {
	t.Helper()
	start := time.Now()
	resp, err := http.Get(url)
	if err != nil {
		return 0, nil, time.Since(start)
	}
	defer resp.Body.Close()
	var body struct {
		Failing map[string]any `json:"failing"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Failing, time.Since(start)
}

// While NATS is unreachable, /healthz still answers 200 at once (liveness
// must not restart every pod during a NATS outage) and /readyz answers 503
// at once, naming nats. Before health came from cached state, each probe
// asked NATS for consumer info and waited 2 s for the answer.
func TestProbesAnswerAtOnceWhileNATSIsDown(t *testing.T) {
	nats := servicetest.StartNATS(t)
	proxy := storetest.NewProxy(t, strings.TrimPrefix(nats.URL(), "nats://"))
	proxy.On()
	cfg := storetest.Config()
	defer dropDatabase(cfg.Database)
	opts := service.Options{NeedsClickHouse: true, Name: "health-test", NATSURL: "nats://" + proxy.Addr(), ClickHouse: cfg, LogLevel: "error", ShutdownTimeout: 10 * time.Second}
	svc := servicetest.Run(t, "health-test", func(ctx context.Context, ln net.Listener) error {
		return service.RunWithListener(ctx, opts, ln, func(ctx context.Context, rt *service.Runtime) error {
			for _, durable := range []string{"health-a", "health-b", "health-c"} {
				spec := bus.ConsumerSpec{Stream: bus.StreamEvents, Durable: durable, FilterSubjects: []string{"medic.events.change.recorded.v1"}}
				if err := rt.Consume(ctx, spec, bus.On(func(context.Context, events.Meta, events.ChangeRecorded) error { return nil })); err != nil {
					return err
				}
			}
			return nil
		})
	})
	svc.WaitReady(t)

	proxy.Off()
	servicetest.Poll(t, "/readyz to name nats", func() bool {
		code, failing, _ := probe(t, svc.URL+"/readyz")
		return code == http.StatusServiceUnavailable && failing["nats"] != nil
	})
	// Probe for longer than a health refresh, so that a probe that waits
	// for a refresh (or does one itself) shows.
	var bad string
	for end := time.Now().Add(3 * time.Second); bad == "" && time.Now().Before(end); {
		code, _, took := probe(t, svc.URL+"/healthz")
		if code != http.StatusOK || took > probeBudget {
			bad = fmt.Sprintf("/healthz while NATS is down = %d in %s, want 200 within %s", code, took, probeBudget)
			break
		}
		code, failing, took := probe(t, svc.URL+"/readyz")
		if code != http.StatusServiceUnavailable || failing["nats"] == nil || took > probeBudget {
			bad = fmt.Sprintf("/readyz while NATS is down = %d %v in %s, want 503 naming nats within %s", code, failing, took, probeBudget)
		}
	}
	// NATS comes back before the service stops, so that it drains cleanly.
	proxy.On()
	if bad != "" {
		t.Fatal(bad)
	}
	svc.WaitReady(t)
}
