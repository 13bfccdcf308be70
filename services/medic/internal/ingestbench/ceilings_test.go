package ingestbench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/archive"
	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/store"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Shape of the events the ingest service publishes: at most
// pointsPerEvent points each (its MaxEventItems), publishParallelism at
// once per request (its PublishParallelism).
const (
	pointsPerEvent     = 1000
	publishParallelism = 4
)

// ceilingEvents builds n telemetry.points events shaped as the ingest
// service maps metricsRequest: one point per series, a route attribute,
// service, model and version.
func ceilingEvents(t testing.TB, n int) []events.Item[events.TelemetryPoints] {
	t.Helper()
	base := time.Now().Add(-time.Hour).UnixNano()
	out := make([]events.Item[events.TelemetryPoints], n)
	for e := range out {
		pts := make([]events.Point, pointsPerEvent)
		for i := range pts {
			pts[i] = events.Point{Name: "request.latency_ms", Value: float64(i%97) + 0.5, TimeUnixNano: base + int64(e)*1e6,
				Service: fmt.Sprintf("bench-svc-%d", i%benchServices), Model: "fraud", ModelVersion: "v2",
				Attributes: map[string]string{"route": fmt.Sprintf("/predict/%d", i)}}
		}
		data := events.TelemetryPoints{Source: "medic/ingest", Points: pts}
		ev, err := events.NewWithID(fmt.Sprintf("ceiling-%d-%d", base, e), "medic/ingest", data)
		if err != nil {
			t.Fatal(err)
		}
		out[e] = events.Item[events.TelemetryPoints]{Meta: events.MetaOf(ev), Data: data}
	}
	return out
}

// publishCeiling publishes the events, encoded beforehand, to a stream
// configured as MEDIC_TELEMETRY (file store, same duplicate window), from
// publishers goroutines each waiting for its ack as bus.Emit does, and
// returns points per second.
func publishCeiling(t testing.TB, nc *nats.Conn, items []events.Item[events.TelemetryPoints], publishers int) float64 {
	t.Helper()
	ctx := context.Background()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: "BENCH_CEILING", Subjects: []string{"bench.ceiling.>"},
		Storage: jetstream.FileStorage, Duplicates: bus.TelemetryDuplicateWindow}); err != nil {
		t.Fatal(err)
	}
	msgs := make([]*nats.Msg, len(items))
	for i, it := range items {
		ev, err := events.NewWithID(it.Meta.ID, it.Meta.Source, it.Data)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := events.Encode(ev)
		if err != nil {
			t.Fatal(err)
		}
		msgs[i] = nats.NewMsg("bench.ceiling.points")
		msgs[i].Data = raw
		msgs[i].Header.Set(bus.HeaderMsgID, it.Meta.ID)
		msgs[i].Header.Set(bus.HeaderContentType, "application/cloudevents+json")
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, publishers)
	start := time.Now()
	for range publishers {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(msgs)); i = next.Add(1) - 1 {
				if _, err := js.PublishMsg(ctx, msgs[i]); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		t.Fatalf("publish: %v", err)
	}
	return float64(len(items)*pointsPerEvent) / elapsed.Seconds()
}

// insertCeiling writes the events' points to the metrics table of s with
// the archiver's own insert (archive.WritePoints), eventsPerInsert events
// per insert, one insert after another as one archiver consumer does, and
// returns points per second.
func insertCeiling(t testing.TB, s *store.Store, items []events.Item[events.TelemetryPoints], eventsPerInsert int) float64 {
	t.Helper()
	ctx := context.Background()
	start := time.Now()
	for i := 0; i < len(items); i += eventsPerInsert {
		if err := archive.WritePoints(ctx, s, items[i:min(i+eventsPerInsert, len(items))]); err != nil {
			t.Fatal(err)
		}
	}
	return float64(len(items)*pointsPerEvent) / time.Since(start).Seconds()
}
