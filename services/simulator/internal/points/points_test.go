package points

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
)

func pts(n int, from int64) []events.Point {
	out := make([]events.Point, n)
	for i := range out {
		out[i] = events.Point{Name: "request.error", Value: float64(from + int64(i)), TimeUnixNano: from + int64(i), Service: "gateway"}
	}
	return out
}

func TestFlushSplitsAndRetriesUnderTheSameIDs(t *testing.T) {
	tests := []struct {
		name      string
		queued    int
		failAt    int // publish call that fails; 0 = none
		wantSizes []int
		wantLeft  int
		wantErr   bool
	}{
		{name: "one batch", queued: 10, wantSizes: []int{10}},
		{name: "split at 5000", queued: 12001, wantSizes: []int{5000, 5000, 2001}},
		{name: "failure keeps the rest", queued: 12001, failAt: 2, wantSizes: []int{5000}, wantLeft: 7001, wantErr: true},
		{name: "nothing queued", queued: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBuffer(100000, nil)
			b.Add(pts(tc.queued, 0)...)
			var sizes []int
			var failedID string
			calls := 0
			p := &Publisher{Buffer: b, Source: "simulator", Timeout: time.Second, Log: slog.New(slog.DiscardHandler),
				Publish: func(_ context.Context, id string, batch events.TelemetryPoints) error {
					calls++
					if calls == tc.failAt {
						failedID = id
						return errors.New("nats down")
					}
					if batch.Source != "simulator" {
						t.Errorf("source %q", batch.Source)
					}
					sizes = append(sizes, len(batch.Points))
					return nil
				}}
			err := p.Flush(context.Background(), time.Now())
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v", err)
			}
			if len(sizes) != len(tc.wantSizes) {
				t.Fatalf("batches %v, want %v", sizes, tc.wantSizes)
			}
			for i := range sizes {
				if sizes[i] != tc.wantSizes[i] {
					t.Fatalf("batches %v, want %v", sizes, tc.wantSizes)
				}
			}
			if p.Unsent() != tc.wantLeft {
				t.Fatalf("left %d, want %d", p.Unsent(), tc.wantLeft)
			}
			if tc.wantLeft == 0 {
				return
			}
			// The retry sends the failed batch first, under its first id.
			var retried []string
			var first int64
			p.Publish = func(_ context.Context, id string, batch events.TelemetryPoints) error {
				if len(retried) == 0 {
					first = batch.Points[0].TimeUnixNano
				}
				retried = append(retried, id)
				return nil
			}
			if err := p.Flush(context.Background(), time.Now()); err != nil {
				t.Fatal(err)
			}
			if retried[0] != failedID || first != 5000 || p.Unsent() != 0 {
				t.Fatalf("retry sent %v starting at point %d, want id %s first, starting at 5000", retried, first, failedID)
			}
		})
	}
}

func TestBoundDropsOldest(t *testing.T) {
	b := NewBuffer(100, nil)
	b.Add(pts(80, 0)...)
	b.Add(pts(50, 1000)...)
	got := b.Take(time.Now())
	if len(got) != 100 || b.Dropped() != 30 {
		t.Fatalf("kept %d dropped %d, want 100 and 30", len(got), b.Dropped())
	}
	if got[0].TimeUnixNano != 30 || got[99].TimeUnixNano != 1049 {
		t.Fatalf("kept %d..%d, want the newest 100", got[0].TimeUnixNano, got[99].TimeUnixNano)
	}
}

func TestUnsentBatchesAreBounded(t *testing.T) {
	b := NewBuffer(100, nil)
	p := &Publisher{Buffer: b, Source: "simulator", Timeout: time.Second, Log: slog.New(slog.DiscardHandler),
		Publish: func(context.Context, string, events.TelemetryPoints) error { return errors.New("nats down") }}
	for i := range 5 {
		b.Add(pts(60, int64(i*100))...)
		_ = p.Flush(context.Background(), time.Now())
	}
	if p.Unsent() > 100 || b.Dropped() != uint64(300-p.Unsent()) {
		t.Fatalf("unsent %d dropped %d, want at most 100 kept and the rest counted", p.Unsent(), b.Dropped())
	}
}

func TestLabelsArriveAfterTheirDelay(t *testing.T) {
	t0 := time.Unix(100, 0)
	b := NewBuffer(10, nil)
	for i := range 3 {
		b.AddLabel(t0.Add(time.Duration(i)*time.Second), events.Point{Name: "label.correct", Value: 1, Service: "model-server"})
	}
	tests := []struct {
		name string
		now  time.Time
		want []int64
	}{
		{name: "before any is due", now: t0.Add(-time.Millisecond)},
		{name: "first two due", now: t0.Add(time.Second), want: []int64{t0.UnixNano(), t0.Add(time.Second).UnixNano()}},
		{name: "taken labels do not come back", now: t0.Add(1500 * time.Millisecond)},
		{name: "last one", now: t0.Add(time.Hour), want: []int64{t0.Add(2 * time.Second).UnixNano()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := b.Take(tc.now)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d labels, want %d", len(got), len(tc.want))
			}
			for i, p := range got {
				if p.TimeUnixNano != tc.want[i] || p.Name != "label.correct" {
					t.Errorf("label %d: %+v, want time %d", i, p, tc.want[i])
				}
			}
		})
	}
}
