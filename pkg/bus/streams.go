// Package bus carries Medic's CloudEvents over NATS JetStream: streams,
// publishing with de-duplication ids, durable consumers that ack only after
// the handler's effect is durable, and a dead-letter stream for what cannot
// be processed.
package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Stream names and the subjects they hold.
const (
	StreamTelemetry = "MEDIC_TELEMETRY"
	StreamEvents    = "MEDIC_EVENTS"
	StreamDLQ       = "MEDIC_DLQ"

	SubjectsTelemetry = "medic.telemetry.>"
	SubjectsEvents    = "medic.events.>"
	SubjectsDLQ       = "medic.dlq.>"
)

// DuplicateWindow is how long JetStream remembers a Nats-Msg-Id on the
// events stream, and so how long a republished event (same id) is dropped
// as a duplicate: long enough to cover redeliveries after an outage. The
// telemetry stream, with far more messages, keeps ids for
// TelemetryDuplicateWindow.
const DuplicateWindow = 2 * time.Hour

// TelemetryDuplicateWindow is the duplicate window of the telemetry stream.
const TelemetryDuplicateWindow = 10 * time.Minute

// StreamLimits cap the bytes each stream holds, beside its age limit, so
// that a burst of traffic cannot fill the NATS server's disk: at 250
// requests/s the telemetry stream alone grew 236 MB in ten minutes, about
// 8.5 GB over its six hours. Every service creates or updates the streams
// at start, so every service must be given the same limits.
type StreamLimits struct {
	Telemetry, Events, DLQ int64
}

// Default stream limits: 3.5 GiB in all. The NATS server must be able to
// reserve the sum on its disk (max_file_store, by default 75% of the free
// disk), or it refuses to create the streams.
const (
	DefaultTelemetryMaxBytes int64 = 1 << 30
	DefaultEventsMaxBytes    int64 = 2 << 30
	DefaultDLQMaxBytes       int64 = 512 << 20
)

// DefaultStreamLimits are the limits of a service given none.
func DefaultStreamLimits() StreamLimits {
	return StreamLimits{Telemetry: DefaultTelemetryMaxBytes, Events: DefaultEventsMaxBytes, DLQ: DefaultDLQMaxBytes}
}

// Validate reports a limit that is not positive.
func (l StreamLimits) Validate() error {
	for _, c := range l.Configs() {
		if c.MaxBytes <= 0 {
			return fmt.Errorf("stream %s: max bytes %d: must be positive", c.Name, c.MaxBytes)
		}
	}
	return nil
}

// Total is the bytes the NATS server reserves for the streams.
func (l StreamLimits) Total() int64 { return l.Telemetry + l.Events + l.DLQ }

// Configs are the streams every Medic service expects, with these limits.
// Telemetry is short-lived (it lands in ClickHouse); events and dead
// letters are kept long enough to replay.
//
// Every stream discards its oldest messages when full (DiscardOld), so
// that a full stream never refuses a publish: with DiscardNew a full
// events stream would stop every service's output (Medic would halt in the
// middle of an incident), a full telemetry stream would blind detection,
// and a full dead-letter stream would leave poison messages pending in
// their own stream until they filled its consumers' ack window. What
// DiscardOld loses first is the oldest: telemetry already in ClickHouse,
// events already handled by every consumer, the first dead letters of a
// flood. Only a consumer lagging by the whole stream loses what it has not
// read, and the medic_stream_bytes alert fires well before (at 80%).
func (l StreamLimits) Configs() []jetstream.StreamConfig {
	return []jetstream.StreamConfig{
		{Name: StreamTelemetry, Subjects: []string{SubjectsTelemetry}, Storage: jetstream.FileStorage,
			MaxAge: 6 * time.Hour, MaxBytes: l.Telemetry, Duplicates: TelemetryDuplicateWindow, Discard: jetstream.DiscardOld},
		{Name: StreamEvents, Subjects: []string{SubjectsEvents}, Storage: jetstream.FileStorage,
			MaxAge: 7 * 24 * time.Hour, MaxBytes: l.Events, Duplicates: DuplicateWindow, Discard: jetstream.DiscardOld},
		{Name: StreamDLQ, Subjects: []string{SubjectsDLQ}, Storage: jetstream.FileStorage,
			MaxAge: 30 * 24 * time.Hour, MaxBytes: l.DLQ, Duplicates: DuplicateWindow, Discard: jetstream.DiscardOld},
	}
}

// StreamConfigs are the streams with the default limits.
func StreamConfigs() []jetstream.StreamConfig { return DefaultStreamLimits().Configs() }

// EnsureStreams creates or updates the streams with the default limits.
func EnsureStreams(ctx context.Context, js jetstream.JetStream) error {
	return EnsureStreamsWith(ctx, js, DefaultStreamLimits())
}

// EnsureStreamsWith creates or updates the streams with limits l; every
// service calls it at start, so none depends on another having started
// first, and a changed limit applies to an existing stream.
func EnsureStreamsWith(ctx context.Context, js jetstream.JetStream, l StreamLimits) error {
	for _, cfg := range l.Configs() {
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			if !isStorageExceeded(err) {
				return fmt.Errorf("ensure stream %s: %w", cfg.Name, err)
			}
			return fmt.Errorf("ensure stream %s: %w (the NATS server must reserve %d bytes for Medic's streams: raise its max_file_store or lower the stream limits)", cfg.Name, err, l.Total())
		}
	}
	return nil
}

// errCodeStorageExceeded is the server's "insufficient storage resources
// available" (nats-server JSStorageResourcesExceededErr), which nats.go
// does not name.
const errCodeStorageExceeded jetstream.ErrorCode = 10047

// isStorageExceeded reports the server's refusal to reserve a stream's
// MaxBytes.
func isStorageExceeded(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == errCodeStorageExceeded
}
