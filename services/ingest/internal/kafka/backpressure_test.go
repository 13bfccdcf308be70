package kafka

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// switchBacklog is behind while on is set, and counts the questions.
type switchBacklog struct {
	on    atomic.Bool
	calls atomic.Int64
}

func (s *switchBacklog) Behind() (bool, string, time.Duration) {
	s.calls.Add(1)
	return s.on.Load(), "the archiver is 2400 events behind on archiver-metrics (MAX_BACKLOG 2000)", time.Second
}

// askedAgain waits until the paused source has asked the backlog a few
// more times: it has gone round its wait, and fetched nothing meanwhile.
func askedAgain(t *testing.T, bl *switchBacklog) {
	t.Helper()
	seen := bl.calls.Load()
	servicetest.Poll(t, "the paused source to ask the backlog again", func() bool { return bl.calls.Load() >= seen+5 })
}

// While the archiver is behind the source fetches nothing and commits
// nothing; once it catches up every record is published and committed
// exactly once. A pause that begins while a batch is being fetched lets
// that batch finish, and holds the rest.
func TestPausesWhileBehind(t *testing.T) {
	brokers := startKafka(t)
	b := servicetest.Bus(t)
	js := b.JetStream()
	subject := events.Subject(events.TypeTelemetryPoints)
	bl := &switchBacklog{}
	bl.on.Store(true)
	r := startWith(t, brokers, b, func(o *Options) { o.Backlog, o.BacklogPoll = bl, 5*time.Millisecond })
	servicetest.Poll(t, "the source to pause before its first fetch", func() bool { return testutil.ToFloat64(r.src.metrics.pauses) == 1 })

	const n, m = 30, 120 // m is more than a batch (50)
	var recs []string
	for i := range n + m {
		recs = append(recs, telemetryRecord(i))
	}
	produce(t, brokers, "telemetry", recs[:n]...)
	askedAgain(t, bl)
	if got, c := servicetest.Count(t, js, bus.StreamTelemetry, subject), committed(t, brokers, "telemetry"); got != 0 || c != 0 {
		t.Fatalf("while behind: %d events published, %d offsets committed; want none", got, c)
	}

	bl.on.Store(false)
	servicetest.Poll(t, "every record committed after the archiver caught up", func() bool { return committed(t, brokers, "telemetry") == n })

	// The source now waits in a fetch; the pause takes effect after the
	// batch that fetch begins.
	bl.on.Store(true)
	produce(t, brokers, "telemetry", recs[n:]...)
	servicetest.Poll(t, "the second pause", func() bool { return testutil.ToFloat64(r.src.metrics.pauses) == 2 })
	askedAgain(t, bl)
	got, c := servicetest.Count(t, js, bus.StreamTelemetry, subject), committed(t, brokers, "telemetry")
	if got != uint64(c) || got > n+50 {
		t.Fatalf("paused after a batch: %d events, %d committed; want equal, at most one batch (50) past %d", got, c, n)
	}

	bl.on.Store(false)
	servicetest.Poll(t, "every record committed", func() bool { return committed(t, brokers, "telemetry") == n+m })
	r.stop(t)
	if got := servicetest.Count(t, js, bus.StreamTelemetry, subject); got != n+m {
		t.Fatalf("%d events on the stream, want %d: one per record", got, n+m)
	}
	seen := map[float64]bool{}
	for _, ev := range servicetest.ReadEvents(t, js, bus.StreamTelemetry, subject) {
		seen[servicetest.As[events.TelemetryPoints](t, ev).Points[0].Value] = true
	}
	if len(seen) != n+m {
		t.Fatalf("%d distinct records on the stream, want %d", len(seen), n+m)
	}
	if p := testutil.ToFloat64(r.src.metrics.pauses); p != 2 {
		t.Errorf("pauses = %v, want 2", p)
	}
}
