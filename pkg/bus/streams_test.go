package bus_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// connectWith connects a bus with limits l to url and sets up its streams;
// the log goes to logs.
func connectWith(t *testing.T, url string, l bus.StreamLimits, logs *bytes.Buffer) *bus.Bus {
	t.Helper()
	b, err := bus.Connect(url, "medic/test", slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	b.SetStreamLimits(l)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	return b
}

func streamInfo(t *testing.T, js jetstream.JetStream, name string) *jetstream.StreamInfo {
	t.Helper()
	s, err := js.Stream(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return s.CachedInfo()
}

// Every stream has a byte limit as well as an age limit, and drops its
// oldest messages when full rather than refuse new ones.
func TestStreamsHaveByteAndAgeLimits(t *testing.T) {
	b := servicetest.Bus(t)
	tests := []struct {
		name     string
		stream   string
		maxBytes int64
		maxAge   time.Duration
	}{
		{"telemetry", bus.StreamTelemetry, bus.DefaultTelemetryMaxBytes, 6 * time.Hour},
		{"events", bus.StreamEvents, bus.DefaultEventsMaxBytes, 7 * 24 * time.Hour},
		{"dead letters", bus.StreamDLQ, bus.DefaultDLQMaxBytes, 30 * 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := streamInfo(t, b.JetStream(), tt.stream).Config
			if cfg.MaxBytes != tt.maxBytes || cfg.MaxAge != tt.maxAge || cfg.Discard != jetstream.DiscardOld {
				t.Errorf("%s: max bytes %d, max age %s, discard %s; want %d, %s, DiscardOld",
					tt.stream, cfg.MaxBytes, cfg.MaxAge, cfg.Discard, tt.maxBytes, tt.maxAge)
			}
		})
	}
}

// Streams made before they had byte limits (or with other limits) take
// the configured ones when a service starts.
func TestSetupUpdatesLimitsOfExistingStreams(t *testing.T) {
	url := servicetest.StartNATS(t).URL()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	old := jetstream.StreamConfig{Name: bus.StreamTelemetry, Subjects: []string{bus.SubjectsTelemetry}, Storage: jetstream.FileStorage,
		MaxAge: 6 * time.Hour, Duplicates: bus.TelemetryDuplicateWindow, Discard: jetstream.DiscardOld}
	if _, err := js.CreateStream(ctx, old); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int64{256 << 20, 128 << 20} {
		l := bus.DefaultStreamLimits()
		l.Telemetry = limit
		connectWith(t, url, l, &bytes.Buffer{})
		if got := streamInfo(t, js, bus.StreamTelemetry).Config.MaxBytes; got != limit {
			t.Fatalf("telemetry max bytes after setup = %d, want %d", got, limit)
		}
	}
}

// A full telemetry stream keeps taking telemetry, and drops its oldest.
func TestFullStreamDiscardsItsOldest(t *testing.T) {
	url := servicetest.StartNATS(t).URL()
	l := bus.DefaultStreamLimits()
	l.Telemetry = 64 << 10
	b := connectWith(t, url, l, &bytes.Buffer{})
	ctx := context.Background()
	payload := bytes.Repeat([]byte("x"), 1024)
	for i := range 256 {
		if _, err := b.JetStream().Publish(ctx, "medic.telemetry.points.v1", payload); err != nil {
			t.Fatalf("publish %d into a full stream: %v", i, err)
		}
	}
	st := streamInfo(t, b.JetStream(), bus.StreamTelemetry).State
	if int64(st.Bytes) > l.Telemetry || st.FirstSeq <= 1 || st.LastSeq != 256 {
		t.Fatalf("telemetry holds %d bytes, seq %d..%d; want at most %d bytes, the oldest dropped and the newest kept", st.Bytes, st.FirstSeq, st.LastSeq, l.Telemetry)
	}
}

// Usage is exported as gauges, and a stream at 80% of its limit or more is
// logged once, not on every check.
func TestCheckStreamsExportsUsageAndWarnsOnce(t *testing.T) {
	url := servicetest.StartNATS(t).URL()
	l := bus.DefaultStreamLimits()
	l.DLQ = 64 << 10
	var logs bytes.Buffer
	b := connectWith(t, url, l, &logs)
	reg := prometheus.NewRegistry()
	b.SetMetrics(bus.NewMetrics(reg))
	ctx := context.Background()
	payload := bytes.Repeat([]byte("x"), 1024)
	for range 56 { // 56 KiB of payload and headers: past 80% of 64 KiB
		if _, err := b.JetStream().Publish(ctx, "medic.dlq.medic.events.x", payload); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		usage, err := b.CheckStreams(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range usage {
			if u.Stream == bus.StreamDLQ && (u.Ratio() < bus.UsageWarn || u.Limit != l.DLQ) {
				t.Fatalf("dlq usage %+v (%.2f), want at least %.2f of %d", u, u.Ratio(), bus.UsageWarn, l.DLQ)
			}
		}
	}
	if n := strings.Count(logs.String(), "close to its byte limit"); n != 1 {
		t.Errorf("%d warnings about the dead-letter stream's size, want 1:\n%s", n, logs.String())
	}
	got := gauges(t, reg)
	if got[bus.MetricStreamLimitBytes+"/"+bus.StreamDLQ] != float64(l.DLQ) || got[bus.MetricStreamBytes+"/"+bus.StreamDLQ] < bus.UsageWarn*float64(l.DLQ) {
		t.Errorf("gauges %v; want the dead-letter stream's bytes and limit", got)
	}
}

// gauges reads the stream gauges from a bus's registry, keyed
// "metric/stream".
func gauges(t *testing.T, g prometheus.Gatherer) map[string]float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "stream" {
					out[mf.GetName()+"/"+lp.GetValue()] = m.GetGauge().GetValue()
				}
			}
		}
	}
	return out
}

// A server that cannot reserve the streams' limits on its disk is refused
// with a reason that says what to change.
func TestLimitsBeyondTheServersStorageSayWhy(t *testing.T) {
	url := servicetest.StartNATS(t).URL()
	b, err := bus.Connect(url, "medic/test", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	l := bus.DefaultStreamLimits()
	l.Telemetry = 1 << 60
	err = bus.EnsureStreamsWith(context.Background(), b.JetStream(), l)
	if err == nil || !strings.Contains(err.Error(), "max_file_store") {
		t.Fatalf("EnsureStreamsWith(1 EiB) = %v, want an error naming max_file_store", err)
	}
}
