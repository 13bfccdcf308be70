package app

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/servicetest"
	"github.com/medic-sre/medic/services/detector/internal/detect"
	"github.com/medic-sre/medic/services/detector/internal/firing"
)

// errCrashed is what a crashed detector's publishes return.
var errCrashed = errors.New("the detector crashed")

// crashingPublisher publishes until it has published one event of type at,
// then behaves like a process that died at that moment: that publish and
// every later one report errCrashed and reach no one, so the detector does
// nothing after it that the bus would see.
type crashingPublisher struct {
	real detect.Publisher
	at   string

	mu      sync.Mutex
	crashed bool
}

func (c *crashingPublisher) Emit(ctx context.Context, id string, data events.Data) (events.Meta, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.crashed {
		return events.Meta{}, errCrashed
	}
	ev, err := c.real.Emit(ctx, id, data)
	if err == nil && data.EventType() == c.at {
		c.crashed = true
		return ev, errCrashed
	}
	return ev, err
}

// A detector that dies right after publishing an anomaly event, before it
// has done anything else, is replaced by one on the same NATS: the anomaly
// is announced and resolved under its original id, once each, and no
// firing record is left behind (issue #6, defect 2). The fault fires in
// the second batch of its points, so a detector that had no record of it
// would detect it again from the redelivered batch, under a later start
// and a new id.
func TestCrashBetweenPublishAndRecordLeavesNoOrphan(t *testing.T) {
	tests := []struct {
		name    string
		crashAt string
		// before runs on the detector that crashes, after on its successor.
		before, after func(t *testing.T, h *harness, base time.Time)
	}{
		{name: "crash after publishing anomaly.detected", crashAt: events.TypeAnomalyDetected,
			before: func(t *testing.T, h *harness, base time.Time) {
				h.publish(t, "burst-rest", series(base, "prediction.error", "model-server", 3400, 5000, 1))
				servicetest.Poll(t, "anomaly.detected", func() bool { return len(h.ofType(events.TypeAnomalyDetected)) > 0 })
			},
			after: func(t *testing.T, h *harness, base time.Time) {
				h.publish(t, "clean", series(base, "prediction.error", "model-server", 5000, 7000, 0))
			}},
		{name: "crash after publishing anomaly.resolved", crashAt: events.TypeAnomalyResolved,
			before: func(t *testing.T, h *harness, base time.Time) {
				h.publish(t, "burst-rest", series(base, "prediction.error", "model-server", 3400, 5000, 1))
				h.publish(t, "clean", series(base, "prediction.error", "model-server", 5000, 7000, 0))
				servicetest.Poll(t, "anomaly.resolved", func() bool { return len(h.ofType(events.TypeAnomalyResolved)) > 0 })
			},
			after: func(*testing.T, *harness, time.Time) {}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "testdata/rules.yaml")
			crashing := h.opts
			crashing.publisher = func(p detect.Publisher) detect.Publisher { return &crashingPublisher{real: p, at: tc.crashAt} }
			first := h.runWith(t, crashing)
			base := time.Now().Add(-time.Minute).Truncate(time.Second)
			// The burst starts in a batch of its own, too short to fire.
			h.publish(t, "baseline", append(series(base, "prediction.error", "model-server", 0, 3000, 0),
				series(base, "prediction.error", "model-server", 3000, 3400, 1)...))
			servicetest.WaitConsumed(t, h.js, bus.StreamTelemetry, Consumer().Durable)
			tc.before(t, h, base)
			first.Stop()

			h.run(t)
			tc.after(t, h, base)
			servicetest.Poll(t, "anomaly.resolved", func() bool { return len(h.ofType(events.TypeAnomalyResolved)) > 0 })
			servicetest.WaitConsumed(t, h.js, bus.StreamTelemetry, Consumer().Durable)
			servicetest.Poll(t, "no firing record left", func() bool { return len(h.firingRecords(t)) == 0 })
			checkOneAnomaly(t, h)
		})
	}
}

// firingRecords reads the detector's firing bucket.
func (h *harness) firingRecords(t *testing.T) []firing.Record {
	t.Helper()
	fs, err := firing.Open(h.ctx, h.js)
	if err != nil {
		t.Fatal(err)
	}
	records, _, err := fs.Load(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return records
}
