package app

import (
	"context"
	"errors"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/services/detector/internal/detect"
	"github.com/nats-io/nats.go/jetstream"
)

// warmBatch is how many events a warm-up reads at a time.
const warmBatch = 500

// warmUp rebuilds the detector's windows and baselines after a restart by
// replaying, from the telemetry stream, the events of the last `span` that
// its durable consumer had already acked (up to its ack floor), through
// Detector.Warm. Without it, a zscore rule would be blind for its
// min_baseline_points and a drift rule for its reference window after
// every restart. The first start of a detector (no consumer yet) replays
// nothing. The live consumer then goes on from the ack floor.
func warmUp(ctx context.Context, rt *service.Runtime, d *detect.Detector, span time.Duration) error {
	if span <= 0 {
		return nil
	}
	js := rt.Bus.JetStream()
	cons, err := js.Consumer(ctx, bus.StreamTelemetry, Consumer().Durable)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return err
	}
	floor := info.AckFloor.Stream
	if floor == 0 {
		return nil
	}
	began := time.Now()
	from := began.Add(-span)
	oc, err := js.OrderedConsumer(ctx, bus.StreamTelemetry, jetstream.OrderedConsumerConfig{
		FilterSubjects: Consumer().FilterSubjects, DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &from})
	if err != nil {
		return err
	}
	var evs, points, skipped int
	progress := time.Now()
	for done := false; !done; {
		msgs, err := oc.Fetch(warmBatch, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return err
		}
		var batch []events.Item[events.TelemetryPoints]
		got := 0
		for m := range msgs.Messages() {
			got++
			md, err := m.Metadata()
			if err != nil || md.Sequence.Stream > floor {
				done = true
				continue
			}
			if md.NumPending == 0 {
				done = true
			}
			ev, data, err := events.Read(m.Data())
			tp, ok := data.(events.TelemetryPoints)
			if err != nil || !ok {
				skipped++ // dead-lettered when it was first read
				continue
			}
			batch = append(batch, events.Item[events.TelemetryPoints]{Meta: events.MetaOf(ev), Data: tp})
		}
		if err := msgs.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		if got == 0 {
			break
		}
		evs += len(batch)
		n, err := d.Warm(ctx, batch, span)
		if err != nil {
			return err
		}
		points += n
		if time.Since(progress) > 5*time.Second {
			progress = time.Now()
			rt.Log.Info("rebuilding windows from the stream", "events", evs, "points", points, "up_to_sequence", floor)
		}
	}
	rt.Log.Info("windows rebuilt from the stream", "events", evs, "points", points, "skipped", skipped,
		"span", span.String(), "took", time.Since(began).Round(time.Millisecond).String())
	return nil
}
