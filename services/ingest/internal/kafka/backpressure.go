package kafka

import (
	"context"
	"time"
)

// Backlog says whether the archiver is behind; backlog.Watcher is one.
type Backlog interface {
	Behind() (behind bool, reason string, retryAfter time.Duration)
}

// waitWhileBehind holds the source between two batches while the archiver
// is behind, and reports false if ctx ended meanwhile. Nothing new is
// fetched, so no offset moves and the records wait in Kafka, which keeps
// them far longer than the telemetry stream would. kafka-go's reader
// heartbeats on its own, so a long pause keeps the group's partitions;
// its prefetch queue is bounded (QueueCapacity).
func (s *Source) waitWhileBehind(ctx context.Context) bool {
	if s.opts.Backlog == nil {
		return true
	}
	behind, reason, _ := s.opts.Backlog.Behind()
	if !behind {
		return true
	}
	s.metrics.pauses.Inc()
	s.log.Warn("kafka reads paused: the archiver is behind", "why", reason)
	start := time.Now()
	t := time.NewTicker(s.opts.BacklogPoll)
	defer t.Stop()
	for behind {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
		behind, _, _ = s.opts.Backlog.Behind()
	}
	s.log.Info("kafka reads resumed: the archiver caught up", "paused_for", time.Since(start).Round(time.Millisecond))
	return true
}
