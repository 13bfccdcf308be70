package otlp

import (
	"context"
	"log/slog"
	"net"
	"net/http/httptest"
	"testing"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
)

// harness is a receiver publishing onto a real embedded JetStream, served
// over real HTTP and gRPC listeners.
type harness struct {
	bus      *bus.Bus
	recv     *Receiver
	reg      *prometheus.Registry
	http     *httptest.Server
	grpcAddr string
}

// newHarness starts NATS, a bus, a receiver with cfg and both servers.
func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	b := servicetest.Bus(t)
	return newHarnessWith(t, cfg, b, b)
}

// newHarnessWith serves a receiver that publishes through pub; b reads the
// streams.
func newHarnessWith(t *testing.T, cfg Config, b *bus.Bus, pub Publisher) *harness {
	t.Helper()
	reg := prometheus.NewRegistry()
	r, err := New(cfg, pub, reg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{bus: b, recv: r, reg: reg, http: httptest.NewServer(r.Handler())}
	t.Cleanup(h.http.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	r.RegisterGRPC(gs)
	done := make(chan struct{})
	go func() { defer close(done); _ = gs.Serve(ln) }()
	t.Cleanup(func() { gs.Stop(); <-done })
	h.grpcAddr = ln.Addr().String()
	return h
}

// points returns every point on the telemetry stream, oldest first.
func (h *harness) points(t *testing.T) []events.Point {
	t.Helper()
	var out []events.Point
	for _, ev := range servicetest.ReadEvents(t, h.bus.JetStream(), bus.StreamTelemetry, events.Subject(events.TypeTelemetryPoints)) {
		out = append(out, servicetest.As[events.TelemetryPoints](t, ev).Points...)
	}
	return out
}

// spans returns every span on the telemetry stream.
func (h *harness) spans(t *testing.T) []events.Span {
	t.Helper()
	var out []events.Span
	for _, ev := range servicetest.ReadEvents(t, h.bus.JetStream(), bus.StreamTelemetry, events.Subject(events.TypeTelemetrySpans)) {
		out = append(out, servicetest.As[events.TelemetrySpans](t, ev).Spans...)
	}
	return out
}

// logs returns every log record on the telemetry stream.
func (h *harness) logs(t *testing.T) []events.LogRecord {
	t.Helper()
	var out []events.LogRecord
	for _, ev := range servicetest.ReadEvents(t, h.bus.JetStream(), bus.StreamTelemetry, events.Subject(events.TypeTelemetryLogs)) {
		out = append(out, servicetest.As[events.TelemetryLogs](t, ev).Records...)
	}
	return out
}

// named keeps the points called name.
func named(pts []events.Point, name string) []events.Point {
	var out []events.Point
	for _, p := range pts {
		if p.Name == name {
			out = append(out, p)
		}
	}
	return out
}

// rejectedCount reads medic_ingest_otlp_rejected_total for one signal and
// reason.
func (h *harness) rejectedCount(t *testing.T, signal, reason string) float64 {
	t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "medic_ingest_otlp_rejected_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["signal"] == signal && labels["reason"] == reason {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// failingPublisher fails every publish as a bus that cannot reach NATS
// would.
type failingPublisher struct{ err error }

func (f failingPublisher) Emit(context.Context, string, events.Data) (events.Meta, error) {
	return events.Meta{}, f.err
}
