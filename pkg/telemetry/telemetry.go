// Package telemetry gives every Medic program JSON logs through log/slog and
// OpenTelemetry traces, and ships both to ClickHouse through batch writers.
// They go to Medic's own tables, medic_logs and medic_spans, never to the
// logs and spans of the systems Medic watches: root-cause analysis reads
// only those, so Medic can never blame itself for an incident.
package telemetry

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/medic-sre/medic/pkg/store"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdkresource "go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Attribute keys that fill the model columns of log and span rows.
const (
	AttrModel        = "model"
	AttrModelVersion = "model_version"
)

// Tables of Medic's own telemetry (migration 0007).
const (
	LogsTable  = "medic_logs"
	SpansTable = "medic_spans"
)

var (
	logColumns = []string{"time", "time_unix_nano", "service", "severity", "body", "trace_id", "span_id",
		"model", "model_version", "attr_keys", "attr_values"}
	spanColumns = []string{"time", "start_unix_nano", "end_unix_nano", "duration_ns", "trace_id", "span_id",
		"parent_span_id", "service", "name", "kind", "status_code", "status_message", "model", "model_version",
		"attr_keys", "attr_values"}
)

// Telemetry owns a program's logger and tracer providers.
type Telemetry struct {
	service string
	logger  *slog.Logger
	// stdout logs to the JSON handler only. The export machinery reports
	// its own problems through it, so that they never become rows of the
	// export that is failing.
	stdout *slog.Logger
	logs   atomic.Pointer[store.BatchWriter]
	spans  atomic.Pointer[store.BatchWriter]

	mu        sync.Mutex
	providers []*sdktrace.TracerProvider
}

// New writes JSON logs to out at once; Export later adds ClickHouse. The
// program's main tracer provider becomes the global one, with W3C trace
// context propagation.
func New(service string, level slog.Level, out io.Writer) *Telemetry {
	t := &Telemetry{service: service}
	json := slog.NewJSONHandler(out, &slog.HandlerOptions{Level: level})
	t.logger = slog.New(fanout{json, &clickhouseHandler{t: t, service: service, level: level}}).With("service", service)
	t.stdout = slog.New(json).With("service", service)
	otel.SetTracerProvider(t.TracerProvider(service))
	otel.SetTextMapPropagator(propagation.TraceContext{})
	return t
}

// Logger is the program's logger.
func (t *Telemetry) Logger() *slog.Logger { return t.logger }

// ExportOptions bound what waits for ClickHouse while it is down. Zero
// values take defaults.
type ExportOptions struct {
	// SpillDir holds the rows that do not fit in memory. Default
	// os.TempDir()/medic-spill-<service>-<database>.
	SpillDir string
	// MaxBuffered is the number of rows of each table kept in memory
	// before spilling. Default 40000.
	MaxBuffered int
	// MaxSpillBytes bounds the spill directory of each table. Default
	// 256 MiB.
	MaxSpillBytes int64
}

// Export starts shipping logs and spans to ClickHouse, with default
// ExportOptions.
func (t *Telemetry) Export(s *store.Store) { t.ExportWith(s, ExportOptions{}) }

// ExportWith starts shipping logs and spans to ClickHouse. Rows wait in
// memory, then on disk, while the store is not ready yet or ClickHouse is
// down. The writers report their problems on stdout only.
func (t *Telemetry) ExportWith(s *store.Store, o ExportOptions) {
	if o.SpillDir == "" {
		// Per service and database: a restarted writer adopts the rows a
		// stopped one left on disk, and they belong in the same database.
		name := strings.ReplaceAll(t.service+"-"+s.Database(), string(filepath.Separator), "_")
		o.SpillDir = filepath.Join(os.TempDir(), "medic-spill-"+name)
	}
	opts := store.BatchOptions{MaxRows: 2000, MaxDelay: 500 * time.Millisecond, MaxBuffered: o.MaxBuffered,
		SpillDir: o.SpillDir, MaxSpillBytes: o.MaxSpillBytes, Log: t.stdout.With("component", "telemetry-export")}
	t.logs.Store(s.NewBatchWriter(LogsTable, logColumns, opts))
	t.spans.Store(s.NewBatchWriter(SpansTable, spanColumns, opts))
}

// TracerProvider returns a provider whose spans carry the given service
// name, for programs that play several services (the simulator).
func (t *Telemetry) TracerProvider(service string) *sdktrace.TracerProvider {
	res, _ := sdkresource.Merge(sdkresource.Empty(), sdkresource.NewSchemaless(attribute.String("service.name", service)))
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithBatcher(&spanExporter{t: t}, sdktrace.WithBatchTimeout(200e6)),
	)
	t.mu.Lock()
	t.providers = append(t.providers, tp)
	t.mu.Unlock()
	return tp
}

// Shutdown flushes spans, then logs, to ClickHouse.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	var errs []error
	t.mu.Lock()
	for _, tp := range t.providers {
		errs = append(errs, tp.Shutdown(ctx))
	}
	t.mu.Unlock()
	for _, w := range []*store.BatchWriter{t.spans.Load(), t.logs.Load()} {
		if w != nil {
			errs = append(errs, w.Close(ctx))
		}
	}
	return errors.Join(errs...)
}

// ParseLevel reads "debug", "info", "warn" or "error".
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	err := l.UnmarshalText([]byte(strings.ToUpper(s)))
	return l, err
}
