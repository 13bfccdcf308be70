package reliability

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/nats-io/nats.go/jetstream"
)

// EventLog is what the MEDIC_EVENTS stream holds, read incrementally by
// sequence, so that it is the durable record rather than what a core
// subscriber happened to see.
type EventLog struct {
	js     jetstream.JetStream
	next   uint64
	Events []Event
}

// Refresh reads the messages appended since the last call.
func (l *EventLog) Refresh(ctx context.Context) error {
	s, err := l.js.Stream(ctx, bus.StreamEvents)
	if err != nil {
		return err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return err
	}
	if l.next == 0 {
		l.next = max(1, info.State.FirstSeq)
	}
	for ; l.next <= info.State.LastSeq; l.next++ {
		m, err := s.GetMsg(ctx, l.next)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("%s seq %d: %w", bus.StreamEvents, l.next, err)
		}
		ev, err := events.Parse(m.Data)
		if err != nil {
			return fmt.Errorf("%s seq %d: %w", bus.StreamEvents, l.next, err)
		}
		l.Events = append(l.Events, ev)
	}
	return nil
}

// telemetryBatches reads the telemetry stream as it is now: the number of
// points of each batch, by event id.
func telemetryBatches(ctx context.Context, js jetstream.JetStream) (map[string]int, error) {
	s, err := js.Stream(ctx, bus.StreamTelemetry)
	if err != nil {
		return nil, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for seq := max(1, info.State.FirstSeq); seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("seq %d: %w", seq, err)
		}
		ev, err := events.Parse(m.Data)
		if err != nil {
			return nil, fmt.Errorf("seq %d: %w", seq, err)
		}
		switch batch := ev.Data.(type) {
		case events.TelemetryPoints:
			out[ev.Meta.ID] = len(batch.Points)
		case events.TelemetrySpans, events.TelemetryLogs:
			// The watched system's spans and logs share the stream; the
			// end state counts points only.
		default:
			return nil, fmt.Errorf("seq %d: %w: %s on the telemetry stream", seq, events.ErrInvalid, ev.Meta.Type)
		}
	}
	return out, nil
}

// Of returns the events of type typ, in stream order.
func (l *EventLog) Of(typ string) []Event {
	var out []Event
	for _, ev := range l.Events {
		if ev.Meta.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

// DeadLetter is one message of MEDIC_DLQ.
type DeadLetter struct {
	Subject, Reason, Consumer string
}

// deadLetters reads the whole dead-letter stream.
func deadLetters(ctx context.Context, js jetstream.JetStream) ([]DeadLetter, error) {
	s, err := js.Stream(ctx, bus.StreamDLQ)
	if err != nil {
		return nil, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, err
	}
	var out []DeadLetter
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, DeadLetter{Subject: m.Header.Get(bus.HeaderDLQSubject), Reason: m.Header.Get(bus.HeaderDLQReason),
			Consumer: m.Header.Get(bus.HeaderDLQConsumer)})
	}
	return out, nil
}

// kvValues reads every live key of a bucket (as its owner).
func kvValues(ctx context.Context, js jetstream.JetStream, bucket string) (map[string][]byte, error) {
	kv, err := js.KeyValue(ctx, bucket)
	if err != nil {
		return nil, fmt.Errorf("kv %s: %w", bucket, err)
	}
	keys, err := kv.Keys(ctx)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return map[string][]byte{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("kv %s keys: %w", bucket, err)
	}
	out := map[string][]byte{}
	for _, k := range keys {
		e, err := kv.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("kv %s key %s: %w", bucket, k, err)
		}
		out[k] = e.Value()
	}
	return out, nil
}

// ConsumerLag is how far one durable consumer is behind its stream.
type ConsumerLag struct {
	Stream, Name string
	// Pending are messages not yet delivered; AckPending, delivered but
	// not yet acknowledged.
	Pending, AckPending uint64
}

// consumerLags lists every durable consumer of Medic's streams.
func consumerLags(ctx context.Context, js jetstream.JetStream) ([]ConsumerLag, error) {
	var out []ConsumerLag
	for _, name := range []string{bus.StreamTelemetry, bus.StreamEvents} {
		s, err := js.Stream(ctx, name)
		if err != nil {
			return nil, err
		}
		l := s.ListConsumers(ctx)
		for c := range l.Info() {
			if c.Config.Durable == "" {
				continue
			}
			out = append(out, ConsumerLag{Stream: name, Name: c.Name, Pending: c.NumPending, AckPending: uint64(c.NumAckPending)})
		}
		if err := l.Err(); err != nil {
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Stream+out[i].Name < out[j].Stream+out[j].Name })
	return out, nil
}
