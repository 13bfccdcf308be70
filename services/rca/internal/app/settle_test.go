package app

import (
	"testing"
	"time"
)

func TestSettleFor(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	settle := 2 * time.Second
	tests := []struct {
		name   string
		opened time.Time
		want   time.Duration
	}{
		{name: "just opened waits the whole delay", opened: now, want: settle},
		{name: "opened a second ago waits the rest", opened: now.Add(-time.Second), want: time.Second},
		{name: "redelivered long after does not wait", opened: now.Add(-time.Minute), want: 0},
		{name: "opener's clock ahead waits no more than the delay", opened: now.Add(time.Hour), want: settle},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := settleFor(tt.opened.UnixNano(), settle, now); got != tt.want {
				t.Fatalf("settleFor = %v, want %v", got, tt.want)
			}
		})
	}
}
