package detect

import (
	"context"
	"fmt"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/medic-sre/medic/pkg/archive"
	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/outcome"
	"github.com/medic-sre/medic/pkg/store"
)

// ArchiveConsumer is the detector's durable consumer of telemetry for the
// metrics table. It reads the same messages as Consumer, on its own: while
// ClickHouse is down its messages wait in the stream (redelivered with
// backoff, never dead-lettered), and evaluation goes on without them.
func ArchiveConsumer() bus.ConsumerSpec {
	return bus.ConsumerSpec{
		Stream: bus.StreamTelemetry, Durable: "detector-archive", BatchSize: 500,
		FilterSubjects: []string{events.Subject(events.TypeTelemetryPoints)},
	}
}

// ArchiveHandler writes a batch's points to the metrics table; the batch
// is acked only once the insert succeeded. Rows are keyed by event id and
// point index, so a redelivered batch folds into the rows it already wrote.
func ArchiveHandler(st *store.Store) bus.BatchHandler {
	return func(ctx context.Context, evs []cloudevents.Event) error {
		evs, rejected := telemetryOnly(evs)
		if err := archive.WritePoints(ctx, st, evs); err != nil {
			return fmt.Errorf("write %d telemetry events to the metrics table: %w", len(evs), err)
		}
		return outcome.Reject(rejected)
	}
}

// telemetryOnly sets aside events of other types, with the reason to
// dead-letter them. The consumer filters on the telemetry subject, so only
// a misbehaving publisher sends them.
func telemetryOnly(evs []cloudevents.Event) ([]cloudevents.Event, map[string]error) {
	out := evs[:0:0]
	rejected := map[string]error{}
	for _, ev := range evs {
		if ev.Type() != events.TypeTelemetryPoints {
			rejected[ev.ID()] = fmt.Errorf("the detector takes %s on the telemetry subject, not %s", events.TypeTelemetryPoints, ev.Type())
			continue
		}
		out = append(out, ev)
	}
	return out, rejected
}
