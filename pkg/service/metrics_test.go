package service_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/pkg/servicetest"
)

// Two services in one process each serve their own metrics on /metrics,
// counted on their runtime's registry: the one that published says so, the
// other does not, and both keep the Go and process collectors. With the
// metrics as promauto globals on the default registry, both /metrics
// answered with the sum of the two.
func TestTwoRuntimesServeTheirOwnMetrics(t *testing.T) {
	nats := servicetest.StartNATS(t)
	var svcs []*servicetest.Service
	for i, publishes := range []int{2, 0} {
		name := fmt.Sprintf("metrics-test-%d", i)
		opts := service.Options{Name: name, NATSURL: nats.URL(), LogLevel: "error", ShutdownTimeout: 10 * time.Second}
		svcs = append(svcs, servicetest.Run(t, name, func(ctx context.Context, ln net.Listener) error {
			return service.RunWithListener(ctx, opts, ln, func(ctx context.Context, rt *service.Runtime) error {
				for n := range publishes {
					id := fmt.Sprintf("%s-%d", name, n)
					if _, err := rt.Bus.Emit(ctx, id, events.ChangeRecorded{ChangeID: id, Kind: "deploy", Service: "s", TimeUnixNano: 1}); err != nil {
						return err
					}
				}
				return nil
			})
		}))
	}
	for i, want := range []string{`medic_bus_published_total{type="` + events.TypeChangeRecorded + `"} 2`, ""} {
		svcs[i].WaitReady(t)
		body := get(t, svcs[i].URL+"/metrics")
		if want != "" && !strings.Contains(body, want) {
			t.Errorf("service %d /metrics lacks %s", i, want)
		}
		if want == "" && strings.Contains(body, "medic_bus_published_total{") {
			t.Errorf("service %d published nothing, but its /metrics counts the other's publishes", i)
		}
		for _, m := range []string{"go_goroutines", "process_start_time_seconds", "promhttp_metric_handler_requests_total"} {
			if !strings.Contains(body, m) {
				t.Errorf("service %d /metrics lacks %s", i, m)
			}
		}
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
