package points

import (
	"context"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/medic-sre/medic/pkg/events"
)

// MaxBatch is the most points one telemetry.points event carries.
const MaxBatch = 5000

// PublishFunc publishes one batch as the event with the given id.
type PublishFunc func(ctx context.Context, id string, batch events.TelemetryPoints) error

// Publisher turns the buffer into telemetry.points events.
type Publisher struct {
	Buffer  *Buffer
	Source  string
	Publish PublishFunc
	// Timeout bounds one publish, so a dead NATS holds up only this loop.
	Timeout time.Duration
	Log     *slog.Logger

	// unsent holds batches whose publish failed, with their ids: a retry
	// under the same id is dropped by JetStream if the failed publish had
	// in fact landed, so a timeout never duplicates points.
	unsent []batch
}

type batch struct {
	id     string
	points []events.Point
}

// Flush publishes the batches that failed before, then everything queued,
// in batches of at most MaxBatch. It stops at the first failure; what is
// left is retried, in order, on the next flush.
func (p *Publisher) Flush(ctx context.Context, now time.Time) error {
	pts := p.Buffer.Take(now)
	for start := 0; start < len(pts); start += MaxBatch {
		p.unsent = append(p.unsent, batch{id: uuid.NewString(), points: pts[start:min(start+MaxBatch, len(pts))]})
	}
	for len(p.unsent) > 0 {
		b := p.unsent[0]
		pctx, cancel := context.WithTimeout(ctx, p.Timeout)
		err := p.Publish(pctx, b.id, events.TelemetryPoints{Source: p.Source, Points: b.points})
		cancel()
		if err != nil {
			p.bound()
			return err
		}
		p.unsent = p.unsent[1:]
	}
	return nil
}

// bound drops the oldest unsent batches while they and the buffer together
// hold more than the buffer's bound, so the bound covers all held points.
func (p *Publisher) bound() {
	total := p.Buffer.Len()
	for _, b := range p.unsent {
		total += len(b.points)
	}
	for total > p.Buffer.max && len(p.unsent) > 1 {
		total -= len(p.unsent[0].points)
		p.Buffer.drop(len(p.unsent[0].points))
		p.unsent = p.unsent[1:]
	}
}

// Unsent is the number of points in batches waiting for a retry.
func (p *Publisher) Unsent() int {
	n := 0
	for _, b := range p.unsent {
		n += len(b.points)
	}
	return n
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
				return // stopping: unsent batches wait for the last flush
			}
			if err != nil && !failing {
				p.Log.Warn("publishing telemetry failed; buffering points (oldest dropped past the bound)",
					"err", err, "buffered", p.Buffer.Len(), "unsent", p.Unsent(), "dropped", p.Buffer.Dropped())
			} else if err == nil && failing {
				p.Log.Info("publishing telemetry recovered", "dropped", p.Buffer.Dropped())
			}
			failing = err != nil
		}
	}
}
