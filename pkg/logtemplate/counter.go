package logtemplate

import (
	"cmp"
	"context"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/medic-sre/medic/pkg/store"
)

// Table is the ClickHouse table of template counts (migration 0008).
const Table = "log_templates"

// Columns are the columns of Table, in Row.Values order.
var Columns = []string{"bucket", "bucket_unix_nano", "bucket_seconds", "service", "severity",
	"template_id", "template", "count", "batch_id"}

// DefaultBucket is the width of a count's time bucket.
const DefaultBucket = 10 * time.Second

// Record is a log record as the Counter needs it.
type Record struct {
	Service  string
	Severity string
	Time     time.Time
	Body     string
}

// Row is the count of one template's lines of one service and severity in
// one bucket of one batch: a row of Table.
type Row struct {
	Bucket     time.Time
	Width      time.Duration
	Service    string
	Severity   string
	TemplateID TemplateID
	Template   string
	Count      uint64
	BatchID    string
}

// Values is the row in Columns order.
func (r Row) Values() []any {
	return []any{r.Bucket, r.Bucket.UnixNano(), uint32(r.Width / time.Second), r.Service, r.Severity,
		uint64(r.TemplateID), r.Template, r.Count, r.BatchID}
}

// CounterOptions shape a Counter. Zero values take defaults.
type CounterOptions struct {
	// Bucket is the width of a time bucket, a whole number of seconds.
	// Default DefaultBucket.
	Bucket time.Duration
	// Keep says which severities are mined. Default WarnOrWorse.
	Keep func(severity string) bool
}

// Counter turns batches of log records into rows of Table, mining their
// bodies with one Miner.
type Counter struct {
	miner  *Miner
	bucket time.Duration
	keep   func(string) bool
}

// NewCounter returns a counter that mines with m. Rows are keyed by their
// text's IDOf, so a new miner (after a restart, or in another replica)
// writes the same ids for the same templates.
func NewCounter(m *Miner, opts CounterOptions) *Counter {
	if opts.Bucket < time.Second {
		opts.Bucket = DefaultBucket
	}
	opts.Bucket = opts.Bucket.Truncate(time.Second)
	if opts.Keep == nil {
		opts.Keep = WarnOrWorse
	}
	return &Counter{miner: m, bucket: opts.Bucket, keep: opts.Keep}
}

// WarnOrWorse keeps warnings, errors and the levels above them, under the
// names slog, OTLP and syslog give them, in any case.
func WarnOrWorse(severity string) bool {
	s := strings.ToUpper(strings.TrimSpace(severity))
	for _, p := range []string{"WARN", "ERR", "FATAL", "CRIT", "ALERT", "EMERG", "PANIC", "SEVERE"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

type countKey struct {
	bucket   int64
	service  string
	severity string
	id       TemplateID
}

// IDOf is the id a row gives the template text tmpl: a hash of the text
// (FNV-1a, 64 bits). Unlike a cluster's TemplateID, which depends on the
// line that happened to found the cluster, it is the same in every replica
// and after every restart, so that counts of one template add up wherever
// they were mined. When Drain generalises a cluster's text, the cluster's
// later rows take the new text's id; readers fold a template into the more
// general one that matches it (see Subsumes).
func IDOf(tmpl string) TemplateID {
	h := fnv.New64a()
	_, _ = h.Write([]byte(tmpl))
	return TemplateID(h.Sum64())
}

// Subsumes reports whether template general matches every line that
// template specific matches: the same number of tokens, each equal or a
// wildcard in general. A cluster's text only ever gains wildcards, so its
// earlier texts are subsumed by its later ones.
func Subsumes(general, specific string) bool {
	g, s := strings.Fields(general), strings.Fields(specific)
	if len(g) != len(s) {
		return false
	}
	for i := range g {
		if g[i] != Wildcard && g[i] != s[i] {
			return false
		}
	}
	return true
}

// Count mines the kept records of one batch and returns their counts, one
// row per bucket, service, severity and template, sorted. batchID names
// the batch (the id of the event that carried it): the rows of a batch
// written twice carry the same keys, and readers count them once (see the
// migration). Every row of a cluster holds the cluster's text as of the
// batch's last line of it, and that text's IDOf.
func (c *Counter) Count(batchID string, records []Record) []Row {
	counts := map[countKey]uint64{}
	text := map[TemplateID]string{} // per cluster, as of its last line
	for _, r := range records {
		if !c.keep(r.Severity) {
			continue
		}
		id, tmpl := c.miner.Add(r.Body)
		text[id] = tmpl
		counts[countKey{bucket: c.bucketOf(r.Time), service: r.Service, severity: strings.ToUpper(r.Severity), id: id}]++
	}
	byText := map[countKey]*Row{}
	for k, n := range counts {
		tmpl := text[k.id]
		k.id = IDOf(tmpl)
		row := byText[k]
		if row == nil {
			row = &Row{Bucket: time.Unix(0, k.bucket).UTC(), Width: c.bucket, Service: k.service,
				Severity: k.severity, TemplateID: k.id, Template: tmpl, BatchID: batchID}
			byText[k] = row
		}
		row.Count += n
	}
	rows := make([]Row, 0, len(byText))
	for _, r := range byText {
		rows = append(rows, *r)
	}
	slices.SortFunc(rows, func(a, b Row) int {
		return cmp.Or(a.Bucket.Compare(b.Bucket), cmp.Compare(a.Service, b.Service),
			cmp.Compare(a.TemplateID, b.TemplateID), cmp.Compare(a.Severity, b.Severity))
	})
	return rows
}

// bucketOf is the start of t's bucket in unix nanoseconds, rounded down
// also before 1970.
func (c *Counter) bucketOf(t time.Time) int64 {
	ns, w := t.UnixNano(), int64(c.bucket)
	start := ns - ns%w
	if ns%w < 0 {
		start -= w
	}
	return start
}

// Write inserts rows into Table in one batch.
func Write(ctx context.Context, s *store.Store, rows []Row) error {
	values := make([][]any, len(rows))
	for i, r := range rows {
		values[i] = r.Values()
	}
	return s.Insert(ctx, Table, Columns, values)
}
