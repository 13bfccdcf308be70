package points

import (
	"context"
	"log/slog"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// MaxBatch is the most points one telemetry.points event carries.
const MaxBatch = 5000

var droppedTotal = promauto.NewCounter(prometheus.CounterOpts{
	Name: "medic_simulator_points_dropped_total",
	Help: "Telemetry points dropped because they could not be published in time.",
})

// PublishFunc publishes one batch.
type PublishFunc func(ctx context.Context, batch events.TelemetryPoints) error

// Publisher turns the buffer into telemetry.points events.
type Publisher struct {
	Buffer  *Buffer
	Source  string
	Publish PublishFunc
	// Timeout bounds one publish, so a dead NATS holds up only this loop.
	Timeout time.Duration
	Log     *slog.Logger
}

// Flush publishes everything queued, in batches of at most MaxBatch. What
// fails to publish goes back into the buffer for the next flush.
func (p *Publisher) Flush(ctx context.Context, now time.Time) error {
	pts := p.Buffer.Take(now)
	for start := 0; start < len(pts); start += MaxBatch {
		end := min(start+MaxBatch, len(pts))
		pctx, cancel := context.WithTimeout(ctx, p.Timeout)
		err := p.Publish(pctx, events.TelemetryPoints{Source: p.Source, Points: pts[start:end]})
		cancel()
		if err != nil {
			p.Buffer.Requeue(pts[start:])
			return err
		}
	}
	return nil
}

// Run flushes every interval until ctx ends. The caller flushes once more
// on shutdown, with a context of its own.
func (p *Publisher) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			err := p.Flush(ctx, now)
			if ctx.Err() != nil {
				return // stopping: the points went back to the buffer for the last flush
			}
			if err != nil && !failing {
				p.Log.Warn("publishing telemetry failed; buffering points (oldest dropped past the bound)",
					"err", err, "buffered", p.Buffer.Len(), "dropped", p.Buffer.Dropped())
			} else if err == nil && failing {
				p.Log.Info("publishing telemetry recovered", "dropped", p.Buffer.Dropped())
			}
			failing = err != nil
		}
	}
}
