package bus

import (
	"context"
	"fmt"
	"time"
)

// UsageWarn is the share of a stream's byte limit above which Medic warns:
// in its log, and through the alert on medic_stream_bytes /
// medic_stream_limit_bytes (deploy/prometheus/medic-alerts.yaml).
const UsageWarn = 0.8

// usageWarnEvery rate-limits the warning log, per stream.
const usageWarnEvery = 10 * time.Minute

// streamInfoTimeout bounds one question to the server about one stream.
const streamInfoTimeout = 2 * time.Second

// StreamUsage is what a stream holds against its byte limit.
type StreamUsage struct {
	Stream        string
	Bytes, Limit  int64
	Messages      uint64
	FirstMessage  time.Time
	DiscardPolicy string
}

// Ratio is Bytes / Limit, 0 without a limit.
func (u StreamUsage) Ratio() float64 {
	if u.Limit <= 0 {
		return 0
	}
	return float64(u.Bytes) / float64(u.Limit)
}

// CheckStreams asks the server for each stream's size, exports it as the
// medic_stream_bytes, medic_stream_limit_bytes and medic_stream_messages
// gauges, and logs a warning (at most every ten minutes per stream) when a
// stream holds UsageWarn of its limit or more: past the limit it discards
// its oldest messages, which a lagging consumer may not have read.
func (b *Bus) CheckStreams(ctx context.Context) ([]StreamUsage, error) {
	var out []StreamUsage
	for _, cfg := range b.limits.Configs() {
		u, err := b.streamUsage(ctx, cfg.Name)
		if err != nil {
			return out, err
		}
		out = append(out, u)
		b.metrics.streamBytes.WithLabelValues(u.Stream).Set(float64(u.Bytes))
		b.metrics.streamLimitBytes.WithLabelValues(u.Stream).Set(float64(u.Limit))
		b.metrics.streamMessages.WithLabelValues(u.Stream).Set(float64(u.Messages))
		if u.Ratio() >= UsageWarn {
			b.warnUsage(u)
		}
	}
	return out, nil
}

func (b *Bus) streamUsage(ctx context.Context, name string) (StreamUsage, error) {
	ctx, cancel := context.WithTimeout(ctx, streamInfoTimeout)
	defer cancel()
	s, err := b.js.Stream(ctx, name)
	if err != nil {
		return StreamUsage{}, fmt.Errorf("stream %s info: %w", name, err)
	}
	info := s.CachedInfo()
	return StreamUsage{Stream: name, Bytes: int64(info.State.Bytes), Limit: info.Config.MaxBytes,
		Messages: info.State.Msgs, FirstMessage: info.State.FirstTime, DiscardPolicy: info.Config.Discard.String()}, nil
}

func (b *Bus) warnUsage(u StreamUsage) {
	now := time.Now()
	if last, ok := b.usageWarned.Load(u.Stream); ok && now.Sub(last.(time.Time)) < usageWarnEvery {
		return
	}
	b.usageWarned.Store(u.Stream, now)
	b.log.Warn("stream is close to its byte limit; past it, its oldest messages are discarded",
		"stream", u.Stream, "bytes", u.Bytes, "limit_bytes", u.Limit, "usage", fmt.Sprintf("%.0f%%", 100*u.Ratio()),
		"oldest", u.FirstMessage, "discard", u.DiscardPolicy)
}

// WatchStreams runs CheckStreams every interval until ctx ends, while the
// bus is ready.
func (b *Bus) WatchStreams(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if b.Ready() == nil {
			if _, err := b.CheckStreams(ctx); err != nil && ctx.Err() == nil {
				b.log.Debug("stream usage not refreshed", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
