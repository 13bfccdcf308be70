// Package service is the runtime every Medic service shares: configuration
// from flags and environment, JSON logs and traces, connections to NATS and
// ClickHouse that retry until they work, /healthz, /readyz and /metrics, and
// a graceful shutdown that drains in-flight messages.
package service

import (
	"flag"
	"fmt"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/flagenv"
	"github.com/medic-sre/medic/pkg/store"
)

// Options is the configuration every service shares.
type Options struct {
	Name string
	// NeedsClickHouse declares that the service reads or writes ClickHouse
	// itself (the archiver, rca, remediator); the service sets it in code,
	// it is no flag. The runtime then opens ClickHouse, applies the
	// migrations, exports the service's own logs and spans there, waits
	// for it before starting the consumers that need it, and reports it on
	// /readyz. A service without it (detector, correlator, notifier,
	// ingest) needs NATS alone: it never connects to ClickHouse, an
	// outage of ClickHouse does not touch its readiness, and its own logs
	// go to stdout only (spans are not exported).
	NeedsClickHouse bool
	HTTPAddr        string
	NATSURL         string
	NATS            bus.Credentials
	ClickHouse      store.Config
	// Streams are the byte limits of the JetStream streams. Every service
	// creates or updates the streams at start, so all must be given the
	// same limits (in Kubernetes, from the shared ConfigMap).
	Streams         bus.StreamLimits
	LogLevel        string
	ShutdownTimeout time.Duration
}

// RegisterFlags declares the shared flags on fs. Every flag has an
// environment twin, which sets its default; a flag given on the command line
// wins over the environment.
func (o *Options) RegisterFlags(fs *flag.FlagSet) {
	flagenv.StringVar(fs, &o.HTTPAddr, "http-addr", "HTTP_ADDR", ":8080", "address for /healthz, /readyz and /metrics")
	flagenv.StringVar(fs, &o.NATSURL, "nats-url", "NATS_URL", "nats://127.0.0.1:4222", "NATS server URL")
	flagenv.StringVar(fs, &o.NATS.User, "nats-user", "NATS_USER", "", "NATS user, on a closed bus the service's own name (empty: no user)")
	flagenv.SecretVar(fs, &o.NATS.Password, "nats-password", "NATS_PASSWORD", "password of --nats-user")
	flagenv.StringVar(fs, &o.NATS.File, "nats-creds", "NATS_CREDS", "", "NATS credentials file (JWT and NKey seed), instead of --nats-user")
	o.ClickHouse.RegisterFlags(fs)
	flagenv.BytesVar(fs, &o.Streams.Telemetry, "telemetry-stream-max-bytes", "MEDIC_TELEMETRY_MAX_BYTES", bus.DefaultTelemetryMaxBytes, "byte limit of the MEDIC_TELEMETRY stream, e.g. 1GiB; past it the oldest telemetry is dropped")
	flagenv.BytesVar(fs, &o.Streams.Events, "events-stream-max-bytes", "MEDIC_EVENTS_MAX_BYTES", bus.DefaultEventsMaxBytes, "byte limit of the MEDIC_EVENTS stream; past it the oldest events are dropped")
	flagenv.BytesVar(fs, &o.Streams.DLQ, "dlq-stream-max-bytes", "MEDIC_DLQ_MAX_BYTES", bus.DefaultDLQMaxBytes, "byte limit of the MEDIC_DLQ stream; past it the oldest dead letters are dropped")
	flagenv.StringVar(fs, &o.LogLevel, "log-level", "LOG_LEVEL", "info", "log level: debug, info, warn or error")
	flagenv.DurationVar(fs, &o.ShutdownTimeout, "shutdown-timeout", "SHUTDOWN_TIMEOUT", 20*time.Second, "time allowed to drain and flush on shutdown")
}

// Validate checks the shared options.
func (o *Options) Validate() error {
	if o.Name == "" {
		return fmt.Errorf("service name is empty")
	}
	if o.NATSURL == "" {
		return fmt.Errorf("--nats-url (NATS_URL) is empty")
	}
	if err := o.NATS.Validate(); err != nil {
		return err
	}
	if err := o.streamLimits().Validate(); err != nil {
		return fmt.Errorf("stream limits (--telemetry-stream-max-bytes, --events-stream-max-bytes, --dlq-stream-max-bytes): %w", err)
	}
	if !o.NeedsClickHouse {
		return nil
	}
	return o.ClickHouse.Validate()
}

// streamLimits are the configured limits, with the defaults in place of
// those left zero (Options built in code rather than from flags).
func (o *Options) streamLimits() bus.StreamLimits {
	l, d := o.Streams, bus.DefaultStreamLimits()
	if l.Telemetry == 0 {
		l.Telemetry = d.Telemetry
	}
	if l.Events == 0 {
		l.Events = d.Events
	}
	if l.DLQ == 0 {
		l.DLQ = d.DLQ
	}
	return l
}
