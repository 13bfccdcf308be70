package backlog

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/archive"
	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// emitPoints publishes n points events, each with distinct content.
func emitPoints(t *testing.T, b *bus.Bus, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		p := events.Point{Name: "gpu_util", Value: float64(i), TimeUnixNano: time.Now().UnixNano(), Service: "model-server"}
		if _, err := b.Emit(context.Background(), fmt.Sprintf("evt-%04d", i), events.TelemetryPoints{Source: "test", Points: []events.Point{p}}); err != nil {
			t.Fatal(err)
		}
	}
}

// ackAll fetches and acks every message c holds, as a caught-up archiver
// would have.
func ackAll(t *testing.T, c jetstream.Consumer) {
	t.Helper()
	for {
		batch, err := c.FetchNoWait(100)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for m := range batch.Messages() {
			if err := m.DoubleAck(context.Background()); err != nil {
				t.Fatal(err)
			}
			n++
		}
		if n == 0 {
			return
		}
	}
}

func newWatcher(t *testing.T, b *bus.Bus, l Limits) (*Watcher, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	w, err := New(b.JetStream(), Options{Stream: bus.StreamTelemetry, Limits: l}, reg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return w, reg
}

func check(t *testing.T, w *Watcher) {
	t.Helper()
	if err := w.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// checkUntilBehind looks until the watcher says behind, for up to 5 s: the
// server counts a consumer's pending messages a moment after the publish
// is acked (a look right after it saw nothing pending once, in a full
// make test).
func checkUntilBehind(t *testing.T, w *Watcher) (bool, string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		check(t, w)
		behind, reason, _ := w.Behind()
		if behind || time.Now().After(deadline) {
			return behind, reason
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// On a closed bus, logged in as the ingest service, the watcher reads the
// archiver's consumers: one missing holds nothing back, one with more than
// MaxBacklog pending is behind, one that caught up is not, and unread
// messages filling the stream are behind however few they are. When NATS
// goes away the last verdict stays, marked stale.
func TestWatcherOnClosedBus(t *testing.T) {
	srv := servicetest.StartClosedNATS(t)
	ingest := srv.Connect(t, "ingest")
	admin := srv.Connect(t, servicetest.AdminUser)
	ctx := context.Background()
	w, _ := newWatcher(t, ingest, Limits{MaxBacklog: 5, MaxStreamFill: 0.5})

	emitPoints(t, admin, 0, 6)
	check(t, w)
	if behind, reason, _ := w.Behind(); behind {
		t.Fatalf("behind without any archiver consumer: %s", reason)
	}

	c, err := admin.JetStream().CreateOrUpdateConsumer(ctx, bus.StreamTelemetry, jetstream.ConsumerConfig{
		Durable: archive.DurableMetrics, AckPolicy: jetstream.AckExplicitPolicy,
		FilterSubject: events.Subject(events.TypeTelemetryPoints)})
	if err != nil {
		t.Fatal(err)
	}
	check(t, w)
	behind, reason, retry := w.Behind()
	if !behind || !strings.Contains(reason, "6 events behind on archiver-metrics (MAX_BACKLOG 5)") || retry != DefaultRetryAfter {
		t.Fatalf("Behind() = %v, %q, %s; want the 6 events of archiver-metrics past MAX_BACKLOG 5, retry in %s", behind, reason, retry, DefaultRetryAfter)
	}
	if got := testutil.ToFloat64(w.m.pending.WithLabelValues(archive.DurableMetrics)); got != 6 {
		t.Errorf("pending gauge = %v, want 6", got)
	}
	if got := testutil.ToFloat64(w.m.on); got != 1 {
		t.Errorf("backpressure gauge = %v, want 1", got)
	}

	ackAll(t, c)
	check(t, w)
	if behind, reason, _ := w.Behind(); behind {
		t.Fatalf("behind after the archiver caught up: %s", reason)
	}

	// Shrink the stream to what it holds: full, and all of it archived.
	s, err := admin.JetStream().Stream(ctx, bus.StreamTelemetry)
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	cfg.MaxBytes = int64(s.CachedInfo().State.Bytes)
	if _, err := admin.JetStream().UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	check(t, w)
	if behind, reason, _ := w.Behind(); behind {
		t.Fatalf("behind on a full stream that is all archived: %s", reason)
	}
	// Four new events push out four archived ones: two thirds of the
	// stream is unread, past MaxStreamFill though within MaxBacklog.
	emitPoints(t, admin, 100, 4)
	behind, reason = checkUntilBehind(t, w)
	if !behind || !strings.Contains(reason, "MAX_STREAM_FILL 0.5") {
		t.Fatalf("Behind() = %v, %q; want the unread fill past MAX_STREAM_FILL 0.5", behind, reason)
	}
	if got := testutil.ToFloat64(w.m.fill); got < 0.5 || got > 0.8 {
		t.Errorf("unread fill gauge = %v, want about 2/3", got)
	}

	srv.Shutdown()
	if err := w.Check(ctx); err == nil {
		t.Fatal("Check succeeded with NATS down")
	}
	if behind, _, _ := w.Behind(); !behind || !w.Stale() {
		t.Fatalf("after a failed look: behind %v, stale %v; want the last verdict (behind), stale", behind, w.Stale())
	}
	if got := testutil.ToFloat64(w.m.stale); got != 1 {
		t.Errorf("stale gauge = %v, want 1", got)
	}
}
