package bus_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/servicetest"
)

// BenchmarkPublishTelemetry publishes 100-point telemetry batches to an
// embedded JetStream (file store), waiting for each ack.
func BenchmarkPublishTelemetry(b *testing.B) {
	b0 := servicetest.Bus(b)
	points := make([]events.Point, 100)
	for i := range points {
		points[i] = events.Point{Name: "prediction.error", Value: 0, TimeUnixNano: int64(i), Service: "model-server", Model: "fraud", ModelVersion: "v1"}
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := b0.Emit(ctx, fmt.Sprintf("b-%d", i), events.TelemetryPoints{Source: "bench", Points: points}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(points))/b.Elapsed().Seconds(), "points/s")
}

// BenchmarkConsumeTelemetry consumes 100-point telemetry events in batches
// of up to 500 from an embedded JetStream: typed (the bus decodes each
// event once into events.Item), and as CloudEvents that the handler
// decodes itself, as the detector did before typed handlers.
func BenchmarkConsumeTelemetry(b *testing.B) {
	points := make([]events.Point, 100)
	for i := range points {
		points[i] = events.Point{Name: "prediction.error", Value: 0, TimeUnixNano: int64(i), Service: "model-server", Model: "fraud", ModelVersion: "v1"}
	}
	run := func(b *testing.B, consume func(*bus.Bus, bus.ConsumerSpec, *counter) (*bus.Consumer, error)) {
		bs := servicetest.Bus(b)
		ctx := context.Background()
		for i := 0; i < b.N; i++ {
			if _, err := bs.Emit(ctx, fmt.Sprintf("b-%d", i), events.TelemetryPoints{Source: "bench", Points: points}); err != nil {
				b.Fatal(err)
			}
		}
		all := make(chan struct{})
		got := &counter{want: int64(b.N * len(points)), done: func() { close(all) }}
		b.ReportAllocs()
		b.ResetTimer()
		c, err := consume(bs, bus.ConsumerSpec{Stream: bus.StreamTelemetry, Durable: "bench", BatchSize: 500, BatchLinger: 10 * time.Millisecond}, got)
		if err != nil {
			b.Fatal(err)
		}
		select {
		case <-all:
		case <-time.After(5 * time.Minute):
			b.Fatalf("consumed %d of %d points", got.count.Load(), got.want)
		}
		b.StopTimer()
		_ = c.Drain(ctx)
		b.ReportMetric(float64(b.N*len(points))/b.Elapsed().Seconds(), "points/s")
	}
	b.Run("typed", func(b *testing.B) {
		run(b, func(bs *bus.Bus, spec bus.ConsumerSpec, got *counter) (*bus.Consumer, error) {
			return bs.ConsumeItems(context.Background(), spec, bus.OnBatch(func(_ context.Context, items []events.Item[events.TelemetryPoints]) error {
				for _, it := range items {
					got.add(len(it.Data.Points))
				}
				return nil
			}))
		})
	})
}

// counter counts consumed points and calls done once it reaches want.
type counter struct {
	count atomic.Int64
	want  int64
	done  func()
}

func (c *counter) add(n int) {
	if c.count.Add(int64(n)) == c.want {
		c.done()
	}
}
