package archive

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/logtemplate"
	"github.com/medic-sre/medic/pkg/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// DurableLogTemplates is the consumer that mines the warning and error
// log records of telemetry.logs events into template counts (the
// log_templates table). It has its own durable, beside DurableLogs, so
// that each table is acked once its own rows are written.
const DurableLogTemplates = "archiver-log-templates"

// TemplateConsumer is the spec of DurableLogTemplates.
func TemplateConsumer() bus.ConsumerSpec {
	return bus.ConsumerSpec{Stream: bus.StreamTelemetry, Durable: DurableLogTemplates, BatchSize: 500,
		FilterSubjects: []string{events.Subject(events.TypeTelemetryLogs)}}
}

// TemplateWriter mines log records with one logtemplate.Miner, bounded by
// its MaxClusters (least recently matched templates are forgotten), and
// writes their counts per template, service and bucket.
type TemplateWriter struct {
	store   *store.Store
	miner   *logtemplate.Miner
	counter *logtemplate.Counter
	width   time.Duration

	lines, founded, evicted prometheus.Counter
	clusters                prometheus.Gauge

	mu   sync.Mutex
	seen logtemplate.Stats // as of the last observe
}

// TemplateOptions shape a TemplateWriter. Zero values take the
// logtemplate defaults.
type TemplateOptions struct {
	Miner  logtemplate.Config
	Bucket time.Duration
}

// NewTemplateWriter returns a writer to s, with its metrics on r (nil
// registers them nowhere).
func NewTemplateWriter(s *store.Store, r prometheus.Registerer, o TemplateOptions) *TemplateWriter {
	m := logtemplate.New(o.Miner)
	f := promauto.With(r)
	counter := logtemplate.NewCounter(m, logtemplate.CounterOptions{Bucket: o.Bucket})
	return &TemplateWriter{store: s, miner: m, counter: counter, width: max(o.Bucket, logtemplate.DefaultBucket),
		lines: f.NewCounter(prometheus.CounterOpts{Name: "medic_archiver_log_template_lines_total",
			Help: "Warning and error log records mined into templates."}),
		founded: f.NewCounter(prometheus.CounterOpts{Name: "medic_archiver_log_templates_founded_total",
			Help: "Templates founded by a line that matched none held."}),
		evicted: f.NewCounter(prometheus.CounterOpts{Name: "medic_archiver_log_templates_evicted_total",
			Help: "Templates forgotten, least recently matched first, to keep the miner's memory bounded."}),
		clusters: f.NewGauge(prometheus.GaugeOpts{Name: "medic_archiver_log_templates",
			Help: "Templates the miner holds."}),
	}
}

// Route is the writer as a batch route for TemplateConsumer: a batch is
// acked only once its counts are written.
func (w *TemplateWriter) Route() bus.BatchRoute { return bus.OnBatch(w.Write) }

// Write mines the records of events not counted yet and writes their
// counts, one batch id per event. An event whose counts are in the table
// (a redelivery after an insert that succeeded but was not acked) is
// skipped before it is mined, so its lines count once, whatever the miner
// learnt since; the migration's LIMIT 1 BY folds what slips through (two
// replicas writing one event at once).
func (w *TemplateWriter) Write(ctx context.Context, items []events.Item[events.TelemetryLogs]) error {
	written, err := w.counted(ctx, items)
	if err != nil {
		return err
	}
	var rows [][]any
	var lines int
	for _, it := range items {
		if written[it.Meta.ID] {
			continue
		}
		recs := make([]logtemplate.Record, len(it.Data.Records))
		for i, r := range it.Data.Records {
			recs[i] = logtemplate.Record{Service: r.Service, Severity: r.Severity, Time: time.Unix(0, r.TimeUnixNano), Body: r.Body}
		}
		for _, row := range w.counter.Count(it.Meta.ID, recs) {
			rows = append(rows, row.Values())
			lines += int(row.Count)
		}
	}
	w.observe(lines)
	return w.store.Insert(ctx, logtemplate.Table, logtemplate.Columns, rows)
}

// counted returns the ids of the events whose counts the table holds,
// looked up in the buckets their kept records fall in.
func (w *TemplateWriter) counted(ctx context.Context, items []events.Item[events.TelemetryLogs]) (map[string]bool, error) {
	var ids []string
	var from, to int64
	for _, it := range items {
		for _, r := range it.Data.Records {
			if !logtemplate.WarnOrWorse(r.Severity) {
				continue
			}
			if len(ids) == 0 || ids[len(ids)-1] != it.Meta.ID {
				ids = append(ids, it.Meta.ID)
			}
			if from == 0 || r.TimeUnixNano < from {
				from = r.TimeUnixNano
			}
			to = max(to, r.TimeUnixNano)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	const q = `SELECT DISTINCT batch_id FROM log_templates
WHERE bucket >= toDateTime(?) AND bucket <= toDateTime(?) AND has(?, batch_id)`
	rows, err := w.store.Conn().Query(ctx, q, (from-int64(w.width))/1e9, to/1e9+1, ids)
	if err != nil {
		return nil, fmt.Errorf("look up template counts already written: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("look up template counts already written: %w", err)
		}
		out[id] = true
	}
	return out, rows.Err()
}

// observe moves the metrics on by what the miner did since the last call.
func (w *TemplateWriter) observe(lines int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.miner.Stats()
	w.lines.Add(float64(lines))
	w.founded.Add(float64(st.Founded - w.seen.Founded))
	w.evicted.Add(float64(st.Evicted - w.seen.Evicted))
	w.clusters.Set(float64(st.Clusters))
	w.seen = st
}
