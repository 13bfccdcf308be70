package bus_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/outcome"
	"github.com/medic-sre/medic/pkg/servicetest"
)

func telemetryBatch(n int) events.TelemetryPoints {
	points := make([]events.Point, n)
	for i := range points {
		points[i] = events.Point{Name: "prediction.error", Value: 0, TimeUnixNano: int64(i + 1), Service: "model-server", Model: "fraud", ModelVersion: "v1"}
	}
	return events.TelemetryPoints{Source: "bench", Points: points}
}

func outgoing(prefix string, n, points int) []bus.Outgoing {
	out := make([]bus.Outgoing, n)
	for i := range out {
		out[i] = bus.Outgoing{ID: fmt.Sprintf("%s-%d", prefix, i), Data: telemetryBatch(points)}
	}
	return out
}

// EmitAll returns once every event is in the stream; the same call again
// adds nothing (the ids are the Nats-Msg-Ids); one invalid event stops the
// call before anything is published.
func TestEmitAll(t *testing.T) {
	b := servicetest.Bus(t)
	ctx := context.Background()
	subject := events.Subject(events.TypeTelemetryPoints)
	if err := b.EmitAll(ctx, outgoing("a", 50, 10)); err != nil {
		t.Fatal(err)
	}
	if got := servicetest.Count(t, b.JetStream(), bus.StreamTelemetry, subject); got != 50 {
		t.Fatalf("stream holds %d events after EmitAll returned, want 50", got)
	}
	if err := b.EmitAll(ctx, outgoing("a", 50, 10)); err != nil {
		t.Fatal(err)
	}
	if got := servicetest.Count(t, b.JetStream(), bus.StreamTelemetry, subject); got != 50 {
		t.Fatalf("stream holds %d events after the same call again, want 50", got)
	}
	bad := outgoing("b", 5, 10)
	bad[3].Data = events.TelemetryPoints{Source: "bench"} // no points: breaks the schema
	err := b.EmitAll(ctx, bad)
	if !outcome.IsPermanent(err) || !errors.Is(err, events.ErrInvalid) {
		t.Fatalf("EmitAll with an invalid event = %v, want a permanent ErrInvalid", err)
	}
	if got := servicetest.Count(t, b.JetStream(), bus.StreamTelemetry, subject); got != 50 {
		t.Fatalf("stream holds %d events after a refused call, want 50 (nothing of it published)", got)
	}
}

// BenchmarkEmitAllTelemetry publishes 50 events of 100 points per call,
// waiting for the acks of all of them once, as a receiver does for one
// request.
func BenchmarkEmitAllTelemetry(b *testing.B) {
	b0 := servicetest.Bus(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := b0.EmitAll(ctx, outgoing(fmt.Sprintf("c%d", i), 50, 100)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*50*100)/b.Elapsed().Seconds(), "points/s")
}
