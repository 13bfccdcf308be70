package archive_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/archive"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/storetest"
)

func telemetry(tb testing.TB, id string, n int) events.Item[events.TelemetryPoints] {
	tb.Helper()
	now := time.Now().UnixNano()
	points := make([]events.Point, n)
	for i := range points {
		points[i] = events.Point{Name: "prediction.error", Value: float64(i % 2), TimeUnixNano: now + int64(i), Service: "model-server",
			Model: "fraud", ModelVersion: "v1", Attributes: map[string]string{"route": "/predict"}}
	}
	d := events.TelemetryPoints{Source: "test", Points: points}
	ev, err := events.NewWithID(id, "test", d)
	if err != nil {
		tb.Fatal(err)
	}
	return events.Item[events.TelemetryPoints]{Meta: events.MetaOf(ev), Data: d}
}

// raw is an item as the events archive gets it.
func raw(it events.Item[events.TelemetryPoints]) events.Raw {
	data, _ := json.Marshal(it.Data)
	return events.Raw{Meta: it.Meta, Data: data}
}

func TestWritePointsAndEventsAreIdempotent(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	evs := []events.Item[events.TelemetryPoints]{telemetry(t, "t1", 50), telemetry(t, "t2", 50)}
	for range 2 { // a redelivered batch writes the same keys again
		if err := archive.WritePoints(ctx, s, evs); err != nil {
			t.Fatal(err)
		}
		if err := archive.WriteEvents(ctx, s, []events.Raw{raw(evs[0]), raw(evs[1])}); err != nil {
			t.Fatal(err)
		}
	}
	var points, rows uint64
	if err := s.Conn().QueryRow(ctx, "SELECT count() FROM metrics FINAL").Scan(&points); err != nil || points != 100 {
		t.Fatalf("metrics FINAL rows %d (%v), want 100", points, err)
	}
	if err := s.Conn().QueryRow(ctx, "SELECT count() FROM events FINAL WHERE source = 'test'").Scan(&rows); err != nil || rows != 2 {
		t.Fatalf("events FINAL rows %d (%v), want 2", rows, err)
	}
	var attr string
	if err := s.Conn().QueryRow(ctx, "SELECT arrayElement(attr_values, indexOf(attr_keys, 'route')) FROM metrics LIMIT 1").Scan(&attr); err != nil || attr != "/predict" {
		t.Fatalf("attribute %q (%v)", attr, err)
	}
}

// BenchmarkWritePoints inserts batches of 5000 points into ClickHouse.
func BenchmarkWritePoints(b *testing.B) {
	s := storetest.New(b)
	ctx := context.Background()
	evs := make([]events.Item[events.TelemetryPoints], 50)
	for i := range evs {
		evs[i] = telemetry(b, fmt.Sprintf("e%d", i), 100)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := archive.WritePoints(ctx, s, evs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*5000)/b.Elapsed().Seconds(), "points/s")
}
