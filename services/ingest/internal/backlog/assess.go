package backlog

import "fmt"

// streamView is what the watcher reads of the telemetry stream.
type streamView struct {
	name              string
	firstSeq, lastSeq uint64
	bytes             uint64
	maxBytes          int64
}

// consumerView is what the watcher reads of one archiver consumer.
type consumerView struct {
	name string
	// pending is NumPending + NumAckPending: messages on its subjects that
	// it has not acked yet.
	pending uint64
	// done is the stream sequence up to which it has read everything:
	// everything after it that it will be given is still unread.
	done uint64
}

// verdict is the outcome of one look.
type verdict struct {
	behind bool
	reason string
	// fill is the largest unreadFill over the consumers.
	fill float64
}

// assess compares what the watcher saw with the limits. The most pending
// consumer names the backlog; a stream filled with unread messages comes
// second, as the rarer and slower case.
func assess(l Limits, s streamView, cs []consumerView) verdict {
	var v verdict
	var worst consumerView
	for _, c := range cs {
		if c.pending > worst.pending {
			worst = c
		}
		v.fill = max(v.fill, unreadFill(s, c))
	}
	switch {
	case worst.pending > l.MaxBacklog:
		v.behind = true
		v.reason = fmt.Sprintf("the archiver is %d events behind on %s (MAX_BACKLOG %d)", worst.pending, worst.name, l.MaxBacklog)
	case v.fill >= l.MaxStreamFill:
		v.behind = true
		v.reason = fmt.Sprintf("events the archiver has not read fill %.0f%% of stream %s's byte limit (MAX_STREAM_FILL %g); past it the oldest are discarded unread",
			100*v.fill, s.name, l.MaxStreamFill)
	}
	return v
}

// unreadFill estimates the share of the stream's byte limit taken by the
// messages from c's first unread one to the newest: what DiscardOld would
// have to drop before it reaches a message c has not read. It spreads the
// stream's bytes evenly over its sequences, which is close enough for a
// limit with a margin, and is 1 or more once c's unread messages are being
// discarded.
func unreadFill(s streamView, c consumerView) float64 {
	if c.pending == 0 || s.maxBytes <= 0 || s.lastSeq < s.firstSeq {
		return 0
	}
	start := max(c.done+1, s.firstSeq)
	if start > s.lastSeq {
		return 0
	}
	share := float64(s.lastSeq-start+1) / float64(s.lastSeq-s.firstSeq+1)
	return float64(s.bytes) * share / float64(s.maxBytes)
}
