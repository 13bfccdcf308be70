// Package bus carries Medic's CloudEvents over NATS JetStream: streams,
// publishing with de-duplication ids, durable consumers that ack only after
// the handler's effect is durable, and a dead-letter stream for what cannot
// be processed.
package bus

import (
	"context"
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

// StreamConfigs are the streams every Medic service expects. Telemetry is
// short-lived (it lands in ClickHouse); events and dead letters are kept
// long enough to replay.
func StreamConfigs() []jetstream.StreamConfig {
	return []jetstream.StreamConfig{
		{Name: StreamTelemetry, Subjects: []string{SubjectsTelemetry}, Storage: jetstream.FileStorage,
			MaxAge: 6 * time.Hour, Duplicates: TelemetryDuplicateWindow, Discard: jetstream.DiscardOld},
		{Name: StreamEvents, Subjects: []string{SubjectsEvents}, Storage: jetstream.FileStorage,
			MaxAge: 7 * 24 * time.Hour, Duplicates: DuplicateWindow},
		{Name: StreamDLQ, Subjects: []string{SubjectsDLQ}, Storage: jetstream.FileStorage,
			MaxAge: 30 * 24 * time.Hour, Duplicates: DuplicateWindow},
	}
}

// EnsureStreams creates or updates the streams; every service calls it at
// start, so none depends on another having started first.
func EnsureStreams(ctx context.Context, js jetstream.JetStream) error {
	for _, cfg := range StreamConfigs() {
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("ensure stream %s: %w", cfg.Name, err)
		}
	}
	return nil
}
