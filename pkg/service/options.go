// Package service is the runtime every Medic service shares: configuration
// from flags and environment, JSON logs and traces, connections to NATS and
// ClickHouse that retry until they work, /healthz, /readyz and /metrics, and
// a graceful shutdown that drains in-flight messages.
package service

import (
	"flag"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
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
	// /readyz. A service without it (detector, correlator, notifier, the
	// simulator) needs NATS alone: it never connects to ClickHouse, an
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
	StringVar(fs, &o.HTTPAddr, "http-addr", "HTTP_ADDR", ":8080", "address for /healthz, /readyz and /metrics")
	StringVar(fs, &o.NATSURL, "nats-url", "NATS_URL", "nats://127.0.0.1:4222", "NATS server URL")
	StringVar(fs, &o.NATS.User, "nats-user", "NATS_USER", "", "NATS user, on a closed bus the service's own name (empty: no user)")
	SecretVar(fs, &o.NATS.Password, "nats-password", "NATS_PASSWORD", "password of --nats-user")
	StringVar(fs, &o.NATS.File, "nats-creds", "NATS_CREDS", "", "NATS credentials file (JWT and NKey seed), instead of --nats-user")
	StringVar(fs, &o.ClickHouse.Addr, "clickhouse-addr", "CLICKHOUSE_ADDR", "127.0.0.1:9000", "ClickHouse native-protocol address")
	StringVar(fs, &o.ClickHouse.Database, "clickhouse-database", "CLICKHOUSE_DATABASE", "medic", "ClickHouse database")
	StringVar(fs, &o.ClickHouse.User, "clickhouse-user", "CLICKHOUSE_USER", "default", "ClickHouse user")
	SecretVar(fs, &o.ClickHouse.Password, "clickhouse-password", "CLICKHOUSE_PASSWORD", "ClickHouse password")
	BytesVar(fs, &o.Streams.Telemetry, "telemetry-stream-max-bytes", "MEDIC_TELEMETRY_MAX_BYTES", bus.DefaultTelemetryMaxBytes, "byte limit of the MEDIC_TELEMETRY stream, e.g. 1GiB; past it the oldest telemetry is dropped")
	BytesVar(fs, &o.Streams.Events, "events-stream-max-bytes", "MEDIC_EVENTS_MAX_BYTES", bus.DefaultEventsMaxBytes, "byte limit of the MEDIC_EVENTS stream; past it the oldest events are dropped")
	BytesVar(fs, &o.Streams.DLQ, "dlq-stream-max-bytes", "MEDIC_DLQ_MAX_BYTES", bus.DefaultDLQMaxBytes, "byte limit of the MEDIC_DLQ stream; past it the oldest dead letters are dropped")
	StringVar(fs, &o.LogLevel, "log-level", "LOG_LEVEL", "info", "log level: debug, info, warn or error")
	DurationVar(fs, &o.ShutdownTimeout, "shutdown-timeout", "SHUTDOWN_TIMEOUT", 20*time.Second, "time allowed to drain and flush on shutdown")
}

// StringVar declares a string flag whose default comes from env when set.
func StringVar(fs *flag.FlagSet, p *string, name, env, def, usage string) {
	if v, ok := os.LookupEnv(env); ok {
		def = v
	}
	fs.StringVar(p, name, def, fmt.Sprintf("%s (env %s)", usage, env))
}

// SecretVar declares a string flag whose value comes from env when set,
// without making it the flag's default: -help prints defaults, and a
// secret must not show there.
func SecretVar(fs *flag.FlagSet, p *string, name, env, usage string) {
	fs.StringVar(p, name, "", fmt.Sprintf("%s (env %s)", usage, env))
	if v, ok := os.LookupEnv(env); ok {
		*p = v
	}
}

// DurationVar declares a duration flag whose default comes from env when set.
// An unparsable env value is reported by Parse through the flag itself.
func DurationVar(fs *flag.FlagSet, p *time.Duration, name, env string, def time.Duration, usage string) {
	fs.DurationVar(p, name, def, fmt.Sprintf("%s (env %s)", usage, env))
	if v, ok := os.LookupEnv(env); ok {
		if err := fs.Set(name, v); err != nil {
			envErrors = append(envErrors, fmt.Errorf("env %s=%q: %w", env, v, err))
		}
	}
}

// FloatVar declares a float flag whose default comes from env when set.
func FloatVar(fs *flag.FlagSet, p *float64, name, env string, def float64, usage string) {
	if v, ok := os.LookupEnv(env); ok {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			envErrors = append(envErrors, fmt.Errorf("env %s=%q: %w", env, v, err))
		} else {
			def = f
		}
	}
	fs.Float64Var(p, name, def, fmt.Sprintf("%s (env %s)", usage, env))
}

// IntVar declares an int flag whose default comes from env when set.
func IntVar(fs *flag.FlagSet, p *int, name, env string, def int, usage string) {
	if v, ok := os.LookupEnv(env); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			envErrors = append(envErrors, fmt.Errorf("env %s=%q: %w", env, v, err))
		} else {
			def = n
		}
	}
	fs.IntVar(p, name, def, fmt.Sprintf("%s (env %s)", usage, env))
}

// BoolVar declares a bool flag whose default comes from env when set.
func BoolVar(fs *flag.FlagSet, p *bool, name, env string, def bool, usage string) {
	if v, ok := os.LookupEnv(env); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			envErrors = append(envErrors, fmt.Errorf("env %s=%q: want true or false", env, v))
		} else {
			def = b
		}
	}
	fs.BoolVar(p, name, def, fmt.Sprintf("%s (env %s)", usage, env))
}

// envErrors collects environment values that did not parse; Parse reports them.
var envErrors []error

// Parse parses args and reports bad environment values too.
func Parse(fs *flag.FlagSet, args []string) error {
	if len(envErrors) > 0 {
		return envErrors[0]
	}
	return fs.Parse(args)
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

// BytesVar declares a byte-size flag whose default comes from env when
// set. It takes a plain number of bytes or one with a unit: KiB, MiB, GiB,
// TiB (powers of 1024) or KB, MB, GB, TB (powers of 1000).
func BytesVar(fs *flag.FlagSet, p *int64, name, env string, def int64, usage string) {
	*p = def
	fs.Var((*byteSize)(p), name, fmt.Sprintf("%s (env %s)", usage, env))
	if v, ok := os.LookupEnv(env); ok {
		if err := fs.Set(name, v); err != nil {
			envErrors = append(envErrors, fmt.Errorf("env %s=%q: %w", env, v, err))
		}
	}
}

// byteSize is an int64 flag.Value that reads units.
type byteSize int64

var byteUnits = []struct {
	suffix string
	factor int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
}

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }

func (b *byteSize) Set(s string) error {
	num, factor := strings.TrimSpace(s), int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(num, u.suffix) {
			num, factor = strings.TrimSpace(strings.TrimSuffix(num, u.suffix)), u.factor
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/factor {
		return fmt.Errorf("%q is not a positive size in bytes (e.g. 1073741824, 1GiB or 512MiB)", s)
	}
	*b = byteSize(n * factor)
	return nil
}
